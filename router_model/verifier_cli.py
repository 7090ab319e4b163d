"""``lmroute verifier train [hydra overrides]``: the thin entry point that trains the
cascade's verifier for a router artifact (library: ``router_model.verifier_train``).

Config: conf/verifier_train.yaml, validated against ``VerifierTrainConf``. Bad input
ends with one line on stderr and exit 2. Prints the written manifest as JSON.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, MissingMandatoryValue, OmegaConf

USAGE = "usage: lmroute verifier train router=DIR out_dir=DIR [hydra overrides]"


@dataclass
class VerifierTrainConf:
    """Schema of conf/verifier_train.yaml (field meanings there)."""

    router: str = "???"
    out_dir: str = "???"
    shared_data: str = "???"
    val_fraction: float = 0.2
    seed: int = 0
    max_requests: int | None = None
    answer_dim: int = 256
    sif_a: float = 1e-3
    tau_rule: str = "youden"
    target_precision: float = 0.9


def register_configs() -> None:
    from data.locate import register_resolver

    register_resolver()
    ConfigStore.instance().store(name="verifier_train_schema", node=VerifierTrainConf)


def _train(cfg: DictConfig) -> float:
    from router_model.verifier_train import VerifierTrainArgs, train_verifier_artifact

    try:
        conf = OmegaConf.to_object(cfg)
    except MissingMandatoryValue as e:
        raise ValueError(f"{e.full_key}: required (e.g. {USAGE[7:]})") from None
    assert isinstance(conf, VerifierTrainConf)
    for noisy in ("onnx_ir", "onnxscript"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = VerifierTrainArgs(
        router=Path(conf.router), out_dir=Path(conf.out_dir),
        shared_data=Path(conf.shared_data), val_fraction=conf.val_fraction, seed=conf.seed,
        max_requests=conf.max_requests, answer_dim=conf.answer_dim, sif_a=conf.sif_a,
        tau_rule=conf.tau_rule, target_precision=conf.target_precision)
    manifest = train_verifier_artifact(args)
    print(json.dumps({"out_dir": conf.out_dir, **manifest}, indent=2))
    return float(manifest["validation"]["auc"])


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] != "train":
        print(f"lmroute verifier: unknown command {argv[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    from train.hydra_entry import hydra_command

    register_configs()
    return hydra_command("lmroute verifier train", "verifier_train", _train)(argv[1:])

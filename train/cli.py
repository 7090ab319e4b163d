"""``lmroute train [hydra overrides]``: the thin Hydra entry point.

Builds the policy and the data source from their ``_target_`` and the tracker from the
logger group, turns
the rest of the config into typed dataclasses, and hands them to
``train.pipeline.run_training``. Errors in the inputs end with one line and exit 2.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from train.config import TrainConf, register_configs
from train.hydra_entry import hydra_command

log = logging.getLogger("train")
register_configs()


def make_tracker(logger: DictConfig, runs_dir: Path, run_name: str) -> Any:
    """The logger group's tracker (its ``_target_``); under torchrun only rank 0 tracks."""
    from train.distributed import env_rank
    from train.tracking import NullTracker

    if env_rank() != 0:
        return NullTracker()
    return instantiate(logger, runs_dir=str(runs_dir), run_name=run_name)


def _train(cfg: DictConfig) -> float:
    from train.pipeline import flat_params, run_training

    conf = OmegaConf.to_object(cfg)
    assert isinstance(conf, TrainConf)
    for noisy in ("onnx_ir", "onnxscript"):  # per-pass INFO lines from the dynamo exporter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    policy = instantiate(cfg.policy)
    source = instantiate(cfg.data, _convert_="all")
    featurizer = instantiate(cfg.featurizer)
    tracker = make_tracker(cfg.logger, Path(conf.runs_dir), HydraConfig.get().job.name)
    ok = False
    try:
        tracker.log_params(flat_params(OmegaConf.to_container(cfg, resolve=True)))  # type: ignore[arg-type]
        result = run_training(conf, policy, tracker, source, featurizer)
        ok = True
    finally:
        tracker.finish(ok)
    summary = {"out_dir": str(result.out_dir), "timings_s": result.timings_s,
               **{k: v for k, v in result.metrics.items() if not isinstance(v, dict)}}
    print(json.dumps(summary, indent=2, default=str))
    return float(result.metrics.get("val_auc_quality", 0.0))


main = hydra_command("lmroute train", "train", _train)

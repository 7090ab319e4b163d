"""``lmroute guard train [hydra overrides]``: the thin Hydra entry point of the guard.

conf/guard_train.yaml + conf/guard_train/ groups; the tracker comes from the router's
logger group (MLflow in runs/mlflow.db by default; ``logger=none`` turns it off).
Input errors end with one line and exit 2.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from train.cli import make_tracker
from train.guard_config import GuardTrainConf, register_guard_configs
from train.hydra_entry import hydra_command

log = logging.getLogger("train.guard")
register_guard_configs()


def _train(cfg: DictConfig) -> float:
    from train.guard_pipeline import run_guard_training
    from train.pipeline import flat_params

    conf = OmegaConf.to_object(cfg)
    assert isinstance(conf, GuardTrainConf)
    tracker = make_tracker(cfg.logger, Path(conf.runs_dir), HydraConfig.get().job.name)
    ok = False
    try:
        tracker.log_params(flat_params(OmegaConf.to_container(cfg, resolve=True)))  # type: ignore[arg-type]
        result = run_guard_training(conf, tracker)
        ok = True
    finally:
        tracker.finish(ok)
    flat = result.metrics["val_flat"]
    keys = [k for k in flat if k.endswith((".auc", ".recall_at_1pct_fpr", ".recall_at_threshold",
                                           ".fpr_at_threshold"))]
    print(json.dumps({"out_dir": str(result.out_dir), "timings_s": result.timings_s,
                      "parity": result.metrics["parity"],
                      "val": {k: round(flat[k], 4) for k in keys}}, indent=2, default=str))
    return float(flat.get("injection.ALL.auc", 0.0))


main = hydra_command("lmroute guard train", "guard_train", _train)

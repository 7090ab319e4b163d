"""``lmroute cache train [hydra overrides]``: the thin Hydra entry point of the verifier.

Config: conf/cache_train.yaml (groups under conf/cache_train/ and the shared logger
group). Errors in the inputs end with one line and exit 2.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from train.cache_config import CacheTrainConf, register_configs
from train.hydra_entry import hydra_command

log = logging.getLogger("train.cache")
register_configs()


def _train(cfg: DictConfig) -> float:
    from train.cache_pipeline import run_cache_training
    from train.cli import make_tracker
    from train.pipeline import flat_params

    conf = OmegaConf.to_object(cfg)
    assert isinstance(conf, CacheTrainConf)
    for noisy in ("onnx_ir", "onnxscript"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tracker = make_tracker(cfg.logger, Path(conf.runs_dir), HydraConfig.get().job.name)
    ok = False
    try:
        tracker.log_params(flat_params(OmegaConf.to_container(cfg, resolve=True)))  # type: ignore[arg-type]
        result = run_cache_training(conf, tracker)
        ok = True
    finally:
        tracker.finish(ok)
    print(json.dumps({"out_dir": str(result.out_dir), "timings_s": result.timings_s,
                      **result.metrics}, indent=2, default=str))
    return float(result.metrics.get("val_hit_rate", 0.0))


main = hydra_command("lmroute cache train", "cache_train", _train)

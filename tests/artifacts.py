"""Train and export real router artifacts (ONNX + manifest + tokenizer) on seeded synthetic
logs, for tests of the packages that serve or evaluate them. One function, so every test
that needs a real artifact builds it the same way (tests/serve/conftest.py uses it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from data.synthetic import SyntheticData


def train_tiny_router(root: Path, synth: SyntheticData, seed: int = 0, int8: bool = False,
                      epochs: int = 15, exporter: str = "legacy") -> tuple[Path, Any]:
    """Train + export a small supervised router on ``synth``; returns (artifact dir, the
    ``train.pipeline.TrainResult``).

    The legacy (TorchScript) ONNX exporter by default: ~1 s instead of ~12 s for the dynamo
    one on this graph. The dynamo export (the training default) is what
    tests/router_model/conftest.py's ``trained`` artifact and
    tests/train/test_routerbench_integration.py build and check."""
    from data.io import write_parquet
    from router_model.featurizer_spec import StaticSpec
    from router_model.policies.supervised import SupervisedPolicy
    from train.config import (
        DataConf,
        ExportConf,
        RewardConf,
        TrainConf,
        TrainerConf,
    )
    from train.data_sources import LogsSource
    from train.pipeline import run_training
    from train.tracking import NullTracker

    root.mkdir(parents=True, exist_ok=True)
    write_parquet(synth.frame, root / "logs.parquet")
    conf = TrainConf(
        data=DataConf(_target_="train.data_sources.LogsSource",
                      paths=[str(root / "logs.parquet")], val_fraction=0.2),
        policy=None, reward=RewardConf(w_costs=[0.0, 1e3, 1e4, 1e5]),
        trainer=TrainerConf(seed=seed, threads=1),
        export=ExportConf(out_dir=str(root / "router"), calibration_size=128,
                          parity_samples=32, int8=int8, exporter=exporter),
        runs_dir=str(root / "runs"))
    policy = SupervisedPolicy(hidden=32, depth=1, epochs=epochs, n_ensemble=2, batch_size=128,
                              seed=seed)
    res = run_training(conf, policy, NullTracker(),
                       LogsSource(paths=[str(root / "logs.parquet")], val_fraction=0.2),
                       StaticSpec(dim=64, max_tokens=128))
    return res.out_dir, res

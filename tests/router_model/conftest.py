"""Session fixtures: synthetic logs and one trained + exported tiny router artifact.

The static table is distilled once per machine (cached under $LMROUTE_CACHE or
~/.cache/lmroute); the artifact is trained on synthetic data once per session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from data.matrix import FullInfo
from data.synthetic import SyntheticData, make_synthetic


@dataclass
class Trained:
    """The tiny router: artifact dir, the torch graph it came from, held-out texts."""

    out_dir: Path
    graph: object
    held_out: list[str]
    models: list[str]


@pytest.fixture(scope="session")
def synth() -> SyntheticData:
    return make_synthetic(1500, models=4, seed=0)


@pytest.fixture(scope="session")
def synth_log(synth: SyntheticData) -> FullInfo:
    return FullInfo.from_frame(synth.frame, models=synth.models)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, synth: SyntheticData) -> Trained:
    """Train + export (dynamo exporter, int8) on 1,200 synthetic requests."""
    from data.io import write_parquet
    from router_model.featurizer_spec import StaticSpec
    from router_model.graph import RouterGraph
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
    from train.sources import split_indices
    from train.tracking import NullTracker

    root = tmp_path_factory.mktemp("artifact")
    write_parquet(synth.frame, root / "logs.parquet")
    conf = TrainConf(
        data=DataConf(_target_="train.data_sources.LogsSource",
                      paths=[str(root / "logs.parquet")], val_fraction=0.2),
        policy=None, reward=RewardConf(w_costs=[0.0, 1e3, 1e4, 1e5]),
        trainer=TrainerConf(seed=0, threads=1),
        export=ExportConf(out_dir=str(root / "router"), calibration_size=128,
                          parity_samples=32),
        runs_dir=str(root / "runs"))
    policy = SupervisedPolicy(hidden=32, depth=1, epochs=15, n_ensemble=2, batch_size=128)
    res = run_training(conf, policy, NullTracker(),
                       LogsSource(paths=[str(root / "logs.parquet")], val_fraction=0.2),
                       StaticSpec(dim=64, max_tokens=128))
    log = FullInfo.from_frame(synth.frame, models=synth.models)
    _, va = split_indices(log.tasks, 0.2, 0)
    graph = RouterGraph(res.featurizer, policy.torch_module())
    return Trained(res.out_dir, graph, [str(q) for q in log.queries[va]], list(policy.models_))


@pytest.fixture(scope="session")
def router(trained: Trained):  # -> Router
    from router_model.runtime import Router

    return Router.load(trained.out_dir)


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def synth_X(synth: SyntheticData) -> np.ndarray:
    """(n, d) static features of the synthetic queries (dim 64)."""
    from router_model.featurizer import build_featurizer, featurize
    from router_model.tokenization import load_tokenizer

    tok = load_tokenizer(64)
    queries = list(synth.frame.drop_duplicates("request_id")["query"])
    feat, _ = build_featurizer("static", tok, queries, 64, 1e-3)
    return featurize(feat, tok, queries)

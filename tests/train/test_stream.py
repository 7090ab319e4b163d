"""Streamed training (trainer=stream): the request blocks equal the in-memory dense view,
the scan's statistics equal the in-memory ones, the loss is the same rule as
``batch_loss`` (split over processes it adds up to it), and a small streamed run trains,
validates and exports a router (ONNX parity) from chunks on disk. Bounded memory at 20M
rows: `lmroute bench train --stream`; two processes: tests/train/test_stream_ddp.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch

from data.io import iter_tables, write_parquet
from data.matrix import FullInfo
from data.synthetic import make_synthetic
from router_model.policies.fitting import _tensors, batch_loss
from router_model.policies.outcome_net import log_scales
from router_model.policies.supervised import full_info_targets
from train.stream_data import COLUMNS, in_validation, iter_requests
from train.stream_fit import loss_part
from train.stream_prep import scan


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    synth = make_synthetic(900, models=4, seed=3)
    path = tmp_path_factory.mktemp("stream") / "log.parquet"
    write_parquet(synth.frame, path)
    return path, synth.frame


def test_blocks_across_batch_boundaries_equal_the_dense_view(log_file) -> None:
    path, frame = log_file
    models = sorted(frame["model"].unique())
    blocks = list(iter_requests(iter_tables(path, batch_rows=37, columns=COLUMNS), models))
    assert len(blocks) > 50  # 37-row batches cut requests of 4 rows: carried over
    full = FullInfo.from_frame(frame, models)
    got = np.concatenate([b.request_ids for b in blocks])
    assert list(got) == list(full.request_ids)
    for name in ("quality", "cost_usd", "latency_ms", "energy_j"):
        np.testing.assert_array_equal(np.concatenate([b.outcomes[name] for b in blocks]),
                                      getattr(full, name))


@pytest.mark.parametrize("ids", [["a", "b", "a"], ["a", "b", "a", "c"]])
def test_scattered_request_rows_are_an_error(ids: list[str]) -> None:
    n = len(ids)
    t = pa.table({"request_id": ids, "query": ["q"] * n, "task": [None] * n,
                  "model": ["m1", "m1", "m2", "m1"][:n],
                  **{c: [1.0] * n for c in ("quality", "cost_usd", "latency_ms", "energy_j")},
                  "prompt_tokens": [1] * n, "completion_tokens": [1] * n})
    with pytest.raises(ValueError, match="rows together"):
        list(iter_requests([t], ["m1", "m2"]))


def test_hash_split_is_deterministic_and_near_the_fraction() -> None:
    ids = np.array([f"r{i}" for i in range(20_000)], dtype=object)
    a, b = in_validation(ids, 0.2, 0), in_validation(ids, 0.2, 0)
    assert (a == b).all() and abs(a.mean() - 0.2) < 0.01
    assert (a != in_validation(ids, 0.2, 1)).any()  # the seed moves it
    with pytest.raises(ValueError, match="val_fraction"):
        in_validation(ids, 1.5, 0)


def test_scan_statistics_equal_the_in_memory_ones(log_file) -> None:
    from train.exporting import model_profiles
    from train.sources import LoadedLogs

    path, frame = log_file
    models = sorted(frame["model"].unique())
    res = scan(iter_requests(iter_tables(path, batch_rows=100, columns=COLUMNS), models),
               models, 0.25, 0, 10_000, 10_000)
    full = FullInfo.from_frame(frame, models)
    train = full.subset(np.flatnonzero(~in_validation(full.request_ids, 0.25, 0)))
    want = log_scales(full_info_targets(train))
    for name, s in res.scales.items():
        np.testing.assert_allclose(s.mean, want[name].mean, rtol=1e-5)
        np.testing.assert_allclose(s.std, want[name].std, rtol=1e-4)
    assert res.n_train == len(train) and res.n_rows == len(frame)
    assert res.val is not None and len(res.val) == res.n_val == len(full) - len(train)
    streamed = model_profiles(models, LoadedLogs(res.profile_frame, train, "", ""), "/none")
    in_memory = model_profiles(models, LoadedLogs(frame, train, "", ""), "/none")
    for m in models:
        for k, v in in_memory[m].items():
            assert streamed[m][k] == pytest.approx(v, rel=1e-9)


def test_kept_samples_hold_no_arrow_buffers_of_the_stream(log_file) -> None:
    """The scan's sample and held-out set are copies: they keep no reference to the
    streamed batches' Arrow buffers (a zero-length slice would pin each batch it came from:
    at 20M rows, gigabytes of batches held until the held-out cap was reached)."""
    path, frame = log_file
    models = sorted(frame["model"].unique())
    res = scan(iter_requests(iter_tables(path, batch_rows=100, columns=COLUMNS), models),
               models, 0.25, 0, 10_000, 10_000)
    assert res.val is not None and res.sample is not None and len(res.val) > 0
    for kept in (res.val, res.sample):
        t = kept.rows
        chunks = max(t.column(0).num_chunks, 1)
        assert t.num_rows == 0  # what is left is an empty offsets buffer per column and chunk
        assert t.get_total_buffer_size() <= 16 * t.num_columns * chunks


def test_the_process_share_of_the_loss_is_batch_loss() -> None:
    """One process (W = 1) with the whole minibatch's weight sums IS ``batch_loss``; two
    halves, each over the global sums, add up to it (what DDP's gradient mean relies on)."""
    synth = make_synthetic(64, models=3, seed=0)
    log = FullInfo.from_frame(synth.frame)
    t = full_info_targets(log)
    y, w = _tensors(t, log_scales(t))
    raw = torch.randn(len(y), 4, 3)
    whole = batch_loss(raw, y, w, 0.5)
    dq, dr = w[:, 0].sum(), w[:, 1:].sum()
    assert torch.allclose(loss_part(raw, y, w, dq, dr, 0.5), whole)
    halves = sum(loss_part(raw[r::2], y[r::2], w[r::2], dq, dr, 0.5) for r in range(2))
    assert torch.allclose(halves, whole, atol=1e-6)


def test_a_small_streamed_run_trains_and_exports(log_file, tmp_path: Path) -> None:
    from router_model.featurizer_spec import StaticSpec
    from router_model.policies.supervised import SupervisedPolicy
    from router_model.runtime import Router
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

    path, _ = log_file
    conf = TrainConf(
        data=DataConf(_target_="train.data_sources.LogsSource", paths=[str(path)]), policy=None,
        reward=RewardConf(w_costs=[0.0, 1e3, 1e4], baselines=["task_prior"]),
        trainer=TrainerConf(threads=1, stream=True, chunk_requests=200, batch_rows=300,
                            sample_requests=300, max_val_requests=150,
                            work_dir=str(tmp_path / "work")),
        export=ExportConf(out_dir=str(tmp_path / "router"), int8=False, parity_samples=16))
    policy = SupervisedPolicy(hidden=32, epochs=4, n_ensemble=1, batch_size=64)
    res = run_training(conf, policy, NullTracker(), LogsSource(paths=[str(path)]),
                       StaticSpec(dim=64, max_tokens=128))
    assert len(list((tmp_path / "work" / "features").glob("x_*.npy"))) == 4  # ~700 / 200
    m = res.metrics
    assert m["n_val"] == 150 and m["n_train"] + m["n_val_held_out"] == 900
    assert m["parity_choice_agreement"] == 1.0
    losses = [h["train_loss_m0"] for h in policy.history_]
    assert losses[-1] < 0.9 * losses[0]  # it learned
    assert 0.0 < m["val_auc_quality"] <= 1.0 and res.manifest["train_data_sha256"]
    router = Router.load(tmp_path / "router")
    assert router.route("integral of a polynomial").model in router.models


def test_a_log_directory_that_is_not_all_parquet_says_it_is_not_streamed(
        log_file, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A stray non-Parquet file (the scale benchmark once wrote its done.json there) made
    the source load the whole log in memory without a word; now it says so, and the
    benchmark's marker lives beside the log directory."""
    import logging
    import shutil

    from train.bench_scale import MODELS, write_log
    from train.data_sources import LogsSource

    path, _ = log_file
    d = tmp_path / "logs"
    d.mkdir()
    shutil.copy(path, d / "part-0.parquet")
    with caplog.at_level(logging.WARNING, "train.data_sources"):
        next(LogsSource(paths=[str(d)]).iter_tables())
    assert not caplog.records  # all Parquet: streamed, silent
    (d / "done.json").write_text("{}")
    with caplog.at_level(logging.WARNING, "train.data_sources"):
        next(LogsSource(paths=[str(d)]).iter_tables())
    assert "not streamed" in caplog.text and "done.json" in caplog.text
    out = tmp_path / "bench_log"
    write_log(100 * MODELS, out, chunk_requests=50)
    assert {f.suffix for f in out.iterdir()} == {".parquet"}
    assert (tmp_path / "bench_log.done.json").is_file()

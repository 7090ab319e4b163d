"""Two processes under ``torchrun`` (torch DDP, gloo on CPU) train the same router as one
process: the same `lmroute train trainer=stream` config, launched both ways on one log,
gives artifacts whose ONNX graphs agree on held-out queries (same choice for every cost
weight, outputs within float tolerance), and the DDP run did use two ranks. A negative
control: another seed gives a measurably different router under the same comparison. The
several-machines launch of docs/scale.md (a torchrun per machine, c10d rendezvous) is run
as two launchers on this machine and gives the same router too.
(``dropout: 0``: dropout masks are drawn per process; see train/stream_fit.py.)
`make test-ddp` runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data.io import write_parquet
from data.synthetic import make_synthetic
from serve.net import free_port

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _overrides(log: Path, out: Path, seed: int = 0) -> list[str]:
    return ["data=logs", f"data.paths=[{log}]", "trainer=stream", "trainer.threads=1",
            "trainer.chunk_requests=500", "trainer.batch_rows=700",
            "trainer.sample_requests=400", "trainer.max_val_requests=300",
            f"trainer.work_dir={out}.work", f"trainer.seed={seed}", f"policy.seed={seed}",
            "featurizer.dim=64", "featurizer.max_tokens=128", "policy.hidden=32",
            "policy.epochs=6", "policy.n_ensemble=2", "policy.batch_size=64",
            "policy.dropout=0.0", "export.int8=false", "export.parity_samples=16",
            "reward.w_costs=[0,1000,10000]", "reward.baselines=[]", "logger=none",
            f"export.out_dir={out}", f"runs_dir={out}.runs"]


def _train(argv: list[str], log_path: Path) -> None:
    with log_path.open("w") as f:
        rc = subprocess.run(argv, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                            timeout=900).returncode
    assert rc == 0, log_path.read_text()[-3000:]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ddp")
    log = root / "log.parquet"
    write_parquet(make_synthetic(2000, models=4, seed=5).frame, log)
    single = [sys.executable, "-m", "lmroute_cli", "train"]
    ddp = [str(TORCHRUN), "--nproc_per_node", "2", "--master_port", str(free_port()),
           "-m", "lmroute_cli", "train"]
    out = {"single": root / "single", "ddp": root / "ddp", "seed1": root / "seed1"}
    _train([*single, *_overrides(log, out["single"])], root / "single.log")
    _train([*ddp, *_overrides(log, out["ddp"])], root / "ddp.log")
    _train([*single, *_overrides(log, out["seed1"], seed=1)], root / "seed1.log")
    out["ddp_log"] = root / "ddp.log"
    out["nodes"] = root / "nodes"
    _two_nodes(_overrides(log, out["nodes"]), root)
    return out


def _two_nodes(overrides: list[str], root: Path) -> None:
    """docs/scale.md's several-machines command, as two launchers ("machines", one process
    each) meeting at a c10d rendezvous: the same line started twice. (One machine: the
    filesystem, the data paths and the token cache are shared, as the docs require.)"""
    port = free_port()
    line = [str(TORCHRUN), "--nnodes", "2", "--nproc_per_node", "1", "--rdzv_backend",
            "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--rdzv_id", "lmroute-test",
            "-m", "lmroute_cli", "train", *overrides]
    logs = [root / f"node{i}.log" for i in range(2)]
    files = [p.open("w") for p in logs]
    procs = [subprocess.Popen(line, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
             for f in files]
    try:
        rcs = [p.wait(timeout=900) for p in procs]
    finally:
        for p in procs:
            p.kill() if p.poll() is None else None
        for f in files:
            f.close()
    text = "".join(p.read_text() for p in logs)
    assert rcs == [0, 0], text[-4000:]
    assert "rank 0 of 2" in text and "rank 1 of 2" in text


def _outputs(router_dir: Path, texts: list[str]) -> dict[str, np.ndarray]:
    from router_model.reward import RewardWeights
    from router_model.runtime import Router

    r = Router.load(router_dir)
    outs: dict[str, list[np.ndarray]] = {"quality": [], "utility": [], "choice": []}
    for w in (0.0, 1e3, 1e4):
        s = r.scores(texts, RewardWeights(w_cost=w))
        for k in outs:
            outs[k].append(np.asarray(s[k]))
    return {k: np.concatenate(v) for k, v in outs.items()}


def test_two_processes_train_the_single_process_router(artifacts: dict[str, Path]) -> None:
    text = artifacts["ddp_log"].read_text()
    assert "rank 0 of 2" in text and "rank 1 of 2" in text
    texts = [str(q) for q in make_synthetic(300, models=4, seed=99).frame["query"].unique()]
    a, b = _outputs(artifacts["single"], texts), _outputs(artifacts["ddp"], texts)
    assert (a["choice"] == b["choice"]).all()
    assert np.abs(a["quality"] - b["quality"]).max() < 1e-4
    rel = np.abs(a["utility"] - b["utility"]) / np.maximum(np.abs(a["utility"]), 1e-3)
    assert rel.max() < 1e-3
    ma = json.loads((artifacts["single"] / "manifest.json").read_text())
    mb = json.loads((artifacts["ddp"] / "manifest.json").read_text())
    assert ma["train_data_sha256"] == mb["train_data_sha256"]
    assert ma["metrics"]["val_auc_quality"] == pytest.approx(mb["metrics"]["val_auc_quality"],
                                                             abs=1e-6)
    # negative control: the comparison does tell routers apart
    c = _outputs(artifacts["seed1"], texts)
    assert np.abs(a["quality"] - c["quality"]).max() > 1e-2


def test_two_launchers_at_a_rendezvous_train_the_single_process_router(
        artifacts: dict[str, Path]) -> None:
    """The multi-machine launch (c10d rendezvous, a torchrun per machine) exports the same
    router as one process, under the same comparison as above."""
    texts = [str(q) for q in make_synthetic(300, models=4, seed=99).frame["query"].unique()]
    a, b = _outputs(artifacts["single"], texts), _outputs(artifacts["nodes"], texts)
    assert (a["choice"] == b["choice"]).all()
    assert np.abs(a["quality"] - b["quality"]).max() < 1e-4

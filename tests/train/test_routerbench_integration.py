"""Real data (RouterBench train CSVs): the router beats the baselines and hits the target."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from lmroute_cli import main as lmroute


@pytest.mark.integration
def test_real_prompts_keep_their_question(shared_data: Path) -> None:
    from data.convert import convert
    from router_model.tokenization import encode, load_tokenizer

    frame = convert("routerbench", [shared_data / "routerbench"]).frame
    queries = list(dict.fromkeys(frame["query"]))
    tok = load_tokenizer(512)
    long_ = [q for q in queries if len(tok.encode(q).ids) >= 512][:20]
    assert long_, "RouterBench has few-shot prompts longer than 512 tokens"
    ids, _ = encode(tok, long_)
    for q, row in zip(long_, ids, strict=True):
        tail = " ".join(q.split()[-5:]).lower()
        assert tok.decode(row.tolist()).endswith(tok.decode(tok.encode(tail).ids[1:-1]))
    from tokenizers import Tokenizer

    full = Tokenizer.from_str(tok.to_str())  # no tail pre-cut: the reference
    for q in queries[::7]:
        assert encode(tok, [q])[0][0].tolist() == full.encode(q).ids


@pytest.mark.integration
def test_router_beats_baselines_and_reaches_target(shared_data: Path, tmp_path: Path) -> None:
    argv = ["train", "experiment=routerbench", "logger=none", f"runs_dir={tmp_path}",
            f"data.paths=[{shared_data / 'routerbench'}]", f"export.out_dir={tmp_path / 'r'}"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert lmroute(argv) == 0
    text = buf.getvalue()
    m = json.loads(text[text.index("{"):])
    assert m["val_auc_quality"] > m["baseline_knn_auc_quality"]
    assert m["val_auc_quality"] > m["baseline_task_prior_auc_quality"]
    assert m["val_quality_at_target"] >= 0.95 * m["val_ref_quality"]
    assert m["val_cost_fraction_at_target"] <= 0.20
    assert m["int8_agreement"] >= 0.99
    assert np.isclose(m["parity_choice_agreement"], 1.0)

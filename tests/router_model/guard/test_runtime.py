"""The artifact, runtime, scan command and tool checks on a small untrained artifact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from router_model.guard.artifact import ArtifactError
from router_model.guard.cli import main as guard_main
from router_model.guard.decision import GuardDecision
from router_model.guard.parity import check_guard_parity
from router_model.guard.policy import PolicyError, make_policy
from router_model.guard.rules import DEFAULT_RULES
from router_model.guard.runtime import Guard
from router_model.guard.tools import ToolPolicy, check_tool_call
from tests.router_model.guard.conftest import build_artifact

PII_TEXT = ("Mail jane.doe@example.com or call +1 (212) 555-0199; "
            "key sk-proj-abcDEF1234567890abcdefXYZ")


def test_parity_onnx_vs_torch(tmp_path: Path) -> None:
    out, net = build_artifact(tmp_path / "g")
    rep = check_guard_parity(net, out / "guard.onnx", n=32)
    assert rep.max_abs_diff["scores"] < 1e-5 and rep.max_abs_diff["tag_probs"] < 1e-5
    assert rep.type_agreement > 0.99


def test_parity_conv2d_token_stream_with_dilated_layers(tmp_path: Path) -> None:
    """The export runs the dilated convolutions as (1, 3) Conv2d channels-first
    (``GuardNet.folded_stream``): three layers (dilations 1, 2, 4) on windows shorter and
    longer than the receptive field must match the training module's Conv1d path."""
    import numpy as np
    import torch

    from router_model.featurizer import StaticFeaturizer, token_flags
    from router_model.guard.export import export_guard
    from router_model.guard.nets import GuardGraph, GuardNet
    from router_model.tokenization import load_tokenizer

    torch.manual_seed(1)
    tok = load_tokenizer(512)
    vocab = tok.get_vocab_size()
    table = np.random.default_rng(1).normal(size=(vocab, 16)).astype(np.float32)
    feat = StaticFeaturizer(table, np.ones(vocab, np.float32), token_flags(tok))
    net = GuardNet(feat, 2, 5, hidden=12, conv_layers=3, token_dim=4, ngram_buckets=512,
                   ngram_dim=4, dropout=0.0).eval()
    for conv in net.convs:  # non-trivial weights so that a wrong shift shows
        torch.nn.init.normal_(conv.weight, std=0.5)
    export_guard(GuardGraph(net), tmp_path / "g3.onnx")
    rep = check_guard_parity(net, tmp_path / "g3.onnx", n=48)
    assert rep.max_abs_diff["scores"] < 1e-5 and rep.max_abs_diff["tag_probs"] < 1e-5
    assert rep.type_agreement > 0.99


def test_check_redacts_rule_spans_in_original_offsets(tiny_guard: Guard) -> None:
    text = "Ｍail jane.doe@example.com\u200b now"  # full-width M, a zero-width space
    d = tiny_guard.check(text)
    emails = [s for s in d.pii if s.entity_type == "EMAIL_ADDRESS"]
    assert len(emails) == 1 and text[emails[0].start:emails[0].end] == "jane.doe@example.com"
    assert "[EMAIL_ADDRESS]" in d.redacted and "jane.doe" not in d.redacted
    assert "pii" in d.categories and d.micros > 0


def test_policy_actions(tiny_guard: Guard) -> None:
    assert tiny_guard.check(PII_TEXT, make_policy("strict")).verdict == "block"  # secret: block
    d = tiny_guard.check(PII_TEXT, make_policy("permissive"))
    assert d.verdict == "redact" and "sk-proj" not in d.redacted and "jane.doe" in d.redacted
    with pytest.raises(PolicyError, match="injection"):
        make_policy("balanced", actions={"injection": "redact"})
    with pytest.raises(PolicyError, match="preset"):
        make_policy("nope")


def test_free_form_rules_run_only_where_the_policy_redacts_their_types(
        tiny_guard: Guard) -> None:
    text = "Mail jane.doe@example.com on 21 July 2005 from Norway."
    def types(d: GuardDecision) -> set[str]:  # rule spans (the tiny net's tagger: noise)
        return {s.entity_type for s in d.pii if s.source == "rule"}

    balanced = make_policy("balanced")  # DATE_TIME / GPE: not redacted by default
    assert balanced.rules == tuple(r for r in DEFAULT_RULES if r not in ("dates", "places"))
    assert types(tiny_guard.check(text, balanced)) == {"EMAIL_ADDRESS"}
    everything = tiny_guard.check(text, balanced, DEFAULT_RULES)  # what scan / eval report
    assert types(everything) == {"EMAIL_ADDRESS", "DATE_TIME", "GPE"}
    dated = make_policy("balanced", redact_entities=["EMAIL_ADDRESS", "DATE_TIME"])
    assert "dates" in dated.rules and "places" not in dated.rules
    d = tiny_guard.check(text, dated)
    assert types(d) == {"EMAIL_ADDRESS", "DATE_TIME"} and "[DATE_TIME]" in d.redacted


def test_learned_false_runs_rules_and_secrets_only(tiny_guard: Guard) -> None:
    full, rules_only = tiny_guard.check(PII_TEXT), tiny_guard.check(PII_TEXT, learned=False)
    assert full.scores["injection"] > 0 and full.scores["harmful"] > 0  # the control
    assert rules_only.scores["injection"] == rules_only.scores["harmful"] == 0.0
    assert all(s.source == "rule" for s in rules_only.pii)
    assert {s.entity_type for s in rules_only.pii} >= {"EMAIL_ADDRESS", "PHONE_NUMBER"}
    assert "jane.doe" not in rules_only.redacted and "secret" in rules_only.categories


def test_decision_log_record_has_no_text(tiny_guard: Guard) -> None:
    rec = json.dumps(tiny_guard.check(PII_TEXT).log_record())
    assert "jane" not in rec and "555" not in rec and "sk-proj" not in rec


def test_scan_format_exact(tiny_guard_dir: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": 1, "text": PII_TEXT}) + "\n"
                   + json.dumps({"id": "b", "text": "What is the capital of France?"}) + "\n")
    out = tmp_path / "out.jsonl"
    assert guard_main(["scan", "--guard", str(tiny_guard_dir), str(inp), "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, "b"]
    for r in rows:
        assert set(r) == {"id", "verdict", "scores", "categories", "pii", "redacted", "micros"}
        assert all(0.0 <= v <= 1.0 for v in r["scores"].values())
        assert all(set(p) == {"entity_type", "start", "end"} for p in r["pii"])
    p = rows[0]["pii"][0]
    assert PII_TEXT[p["start"]:p["end"]] in ("jane.doe@example.com",)


@pytest.mark.parametrize("line,msg", [("{not json", ":1: not JSON"), ('{"text": "x"}', "'id'"),
                                      ('{"id": 1, "text": 5}', "'text'"), ("[1]", "object")])
def test_scan_bad_input_exit_2(tiny_guard_dir: Path, tmp_path: Path, line: str, msg: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    inp = tmp_path / "bad.jsonl"
    inp.write_text(line + "\n")
    out = tmp_path / "o.jsonl"
    assert guard_main(["scan", "--guard", str(tiny_guard_dir), str(inp), "--out", str(out)]) == 2
    assert msg in capsys.readouterr().err and not out.exists()


def test_corrupt_artifact_refused(tiny_guard_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(tiny_guard_dir, bad)
    data = bytearray((bad / "guard.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "guard.onnx").write_bytes(bytes(data))
    with pytest.raises(ArtifactError):
        Guard.load(bad)
    (bad / "tokenizer.json").write_text("{}")
    with pytest.raises(ArtifactError, match=r"tokenizer|graph|ONNX"):
        Guard.load(bad, int8=True)
    with pytest.raises(ArtifactError, match="missing"):
        Guard.load(tmp_path / "nowhere")


def test_int8_graph_loads_and_agrees_on_rules(tiny_guard_dir: Path) -> None:
    q = Guard.load(tiny_guard_dir, int8=True)
    assert q.check(PII_TEXT).redacted == Guard.load(tiny_guard_dir).check(PII_TEXT).redacted


def test_tool_allow_lists(tiny_guard: Guard) -> None:
    planner, executor = ToolPolicy.of([]), ToolPolicy.of(["search", "send_email"])
    assert check_tool_call(tiny_guard, "search", '{"q": "x"}', planner).verdict == "block"
    assert check_tool_call(tiny_guard, "shell", "{}", executor).categories == ["tool"]
    d = check_tool_call(tiny_guard, "send_email",
                        '{"to": "a@b.co", "body": {"text": "key AKIAIOSFODNN7EXAMPLE"}}',
                        executor, make_policy("strict"))
    assert d.verdict == "block" and "secret" in d.categories
    assert check_tool_call(tiny_guard, "search", '{"q": ""}', ToolPolicy()).verdict == "allow"


def test_tool_arguments_are_checked_by_rules_not_the_request_classifier(
        tiny_guard: Guard) -> None:
    args = '{"code": "print(1)  # mail jane.doe@example.com"}'
    full = tiny_guard.check(args)  # the control: the classifier scores this text
    assert full.scores["injection"] > 0 and full.scores["harmful"] > 0
    d = check_tool_call(tiny_guard, "python", args)
    assert d.scores["injection"] == d.scores["harmful"] == 0.0
    assert [s.entity_type for s in d.pii] == ["EMAIL_ADDRESS"] and "jane" not in d.redacted

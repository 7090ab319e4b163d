"""``lmroute bench gateway`` (serve/bench/cli.py): report math, arguments, config, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from serve.bench.cli import _split, level_report, level_rounds, main
from serve.bench.gateway import gateway_overrides
from serve.bench.load import LoadResult, LoadSpec, combine, summarize

ROOT = Path(__file__).resolve().parents[2]
LITELLM = ROOT / ".venv-litellm" / "bin" / "litellm"


def _result(p50: float, p99: float, conc: int = 50) -> LoadResult:
    return LoadResult(conc, 100, 100, 0, p50, p50, p99, p50, p99, 1000.0, 0.1, [])


def test_level_report_added_latency_and_ratio() -> None:
    out = level_report(
        50,
        {"direct": _result(10.0, 20.0), "lmroute": _result(11.5, 24.0),
         "litellm": _result(40.0, 90.0)},
    )  # fmt: skip
    lm, ll = out["systems"]["lmroute"], out["systems"]["litellm"]
    assert (lm["added_p50_ms"], lm["added_p99_ms"]) == (1.5, 4.0)
    assert (ll["added_p50_ms"], ll["added_p99_ms"]) == (30.0, 70.0)
    assert out["ratio_added_p50_lmroute_over_litellm"] == pytest.approx(0.05)
    assert "added_p50_ms" not in out["systems"]["direct"]


def test_rounds_combine_into_one_result_and_report_their_spread() -> None:
    spec = LoadSpec("http://x", {}, 1, 3)
    ms = 1_000_000
    a = summarize(spec, [1 * ms, 2 * ms, 3 * ms], [], 0.5)
    b = summarize(spec, [4 * ms, 5 * ms], ["HTTP 500: boom"], 0.5)
    both = combine([a, b])
    assert (both.n_requests, both.n_ok, both.n_errors) == (6, 5, 1)
    assert both.p50_ms == 3.0 and both.throughput_rps == 5.0
    assert both.error_samples == ["HTTP 500: boom"] and "latencies_ns" not in both.as_dict()
    d1, d2 = summarize(spec, [1 * ms], [], 1), summarize(spec, [2 * ms], [], 1)
    out = level_report(1, {"direct": combine([d1, d2]), "lmroute": both},
                       {"direct": [d1, d2], "lmroute": [a, b]})
    assert out["systems"]["lmroute"]["added_p50_ms_per_round"] == [1.0, 2.5]
    assert _split(10, 3) == [4, 3, 3] and _split(2, 5) == [1, 1] and _split(0, 3) == [0]
    # >= 20 x C requests per round: C=1 keeps 5 rounds, C=50 gets 2, C=200 one
    assert [level_rounds(5, 2000, c) for c in (1, 50, 200)] == [5, 2, 1]


def test_variant_is_compared_round_by_round_with_lmroute() -> None:
    spec = LoadSpec("http://x", {}, 1, 3)
    ms = 1_000_000

    def one(p50: float) -> LoadResult:
        return summarize(spec, [int(p50 * ms)], [], 1)

    rounds = {"direct": [one(1.0), one(1.0), one(2.0)],
              "lmroute": [one(3.0), one(3.5), one(4.0)],
              "lmroute_b": [one(2.5), one(3.5), one(3.0)]}
    out = level_report(1, {k: combine(v) for k, v in rounds.items()}, rounds)
    diff = out["variant_minus_lmroute"]
    assert diff["added_p50_ms_per_round"] == [-0.5, 0.0, -1.0]
    assert diff["median_per_round_ms"] == -0.5
    assert diff["added_p50_ms"] == pytest.approx(out["systems"]["lmroute_b"]["added_p50_ms"]
                                                 - out["systems"]["lmroute"]["added_p50_ms"])


def test_level_report_ratio_undefined_when_litellm_adds_nothing() -> None:
    out = level_report(1, {"direct": _result(5, 9), "lmroute": _result(6, 9),
                           "litellm": _result(4, 9)})  # fmt: skip
    assert out["ratio_added_p50_lmroute_over_litellm"] is None


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--concurrency", "0,5"], "--concurrency"),
        (["--concurrency", "a"], "--concurrency"),
        (["--systems", "lmroute"], "--systems"),
        (["--systems", "direct,nginx"], "--systems"),
        (["--requests", "0"], "--requests"),
        (["--rounds", "0"], "--rounds"),
        (["--router", "/nonexistent/router"], "manifest.json"),
        (["--systems", "direct,litellm", "--variant", "seed=1"], "--variant"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err


def test_bench_backend_config_composes_into_valid_settings(tmp_path: Path) -> None:
    from serve.cli import build_settings, register_schemas

    register_schemas()
    overrides = gateway_overrides("http://127.0.0.1:9999/v1", "bench-model", None, 1234, tmp_path)
    overrides = [o for o in overrides if not o.startswith("hydra.")]
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="serve", overrides=overrides)
    settings = build_settings(cfg)
    assert list(settings.backends) == ["bench"]
    b = settings.backends["bench"]
    assert (b.base_url, b.model, b.serves) == ("http://127.0.0.1:9999/v1", "bench-model",
                                               ["bench-model"])  # fmt: skip
    assert settings.port == 1234 and settings.router is None
    assert settings.log.dir == str(tmp_path / "gateway_logs")


@pytest.mark.integration
def test_bench_direct_and_lmroute_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--systems", "direct,lmroute", "--concurrency", "1,4", "--requests", "60",
            "--warmup", "10", "--out", str(out), "--workdir", str(tmp_path / "work"),
            "--no-router", "--variant", "backends.bench.http_client=aiohttp",
            "--prompt", "Name three rivers."]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert report == json.loads(capsys.readouterr().out)
    assert [lvl["concurrency"] for lvl in report["levels"]] == [1, 4]
    for lvl in report["levels"]:
        for name in ("direct", "lmroute", "lmroute_b"):
            s = lvl["systems"][name]
            assert (s["n_ok"], s["n_errors"]) == (60, 0), s["error_samples"]
        assert len(lvl["variant_minus_lmroute"]["added_p50_ms_per_round"]) == lvl["rounds"]
        lm = lvl["systems"]["lmroute"]
        assert lm["added_p50_ms"] == pytest.approx(
            lm["p50_ms"] - lvl["systems"]["direct"]["p50_ms"]
        )
    assert report["meta"]["lmroute"]["routed"] is False
    assert report["meta"]["prompt"] == "Name three rivers."
    variant = report["meta"]["lmroute_b"]
    assert variant["variant"] == ["backends.bench.http_client=aiohttp"]
    assert variant["overrides"][-1] == "backends.bench.http_client=aiohttp"  # last: it wins
    assert report["summary"]["total_errors"] == 0
    rows = list((tmp_path / "work" / "gateway_logs").rglob("*.parquet"))
    assert rows, "the gateway wrote no decision log during the benchmark"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(
    not LITELLM.exists(), reason=f"{LITELLM} absent (make bench-gateway installs it)"
)
def test_bench_with_litellm_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = ["--concurrency", "2", "--requests", "40", "--warmup", "5", "--no-install",
            "--litellm-venv", str(LITELLM.parents[1]), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    lvl = json.loads(out.read_text())["levels"][0]
    assert lvl["systems"]["litellm"]["n_ok"] == 40
    assert "ratio_added_p50_lmroute_over_litellm" in lvl


def test_markdown_table_from_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from serve.bench.markdown import main as md_main

    level = level_report(1, {"direct": _result(0.5, 1.0, 1), "lmroute": _result(2.0, 4.0, 1)})
    meta = {"created_utc": "T", "loadavg_start": [0.5], "loadavg_end": [0.6],
            "requests_per_level": 100, "warmup_per_level": 10, "rounds_per_level": 1,
            "lmroute": {"routed": True, "router": "r"}}
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"meta": meta, "levels": [level], "summary": {}}))
    assert md_main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "| 1 | lmroute | 2.0 | 4.0 | 1000.0 | 0 | 1.5 | 3.0 | - |" in out
    (tmp_path / "bad.json").write_text("{}")
    assert md_main([str(tmp_path / "bad.json")]) == 1
    assert "not a `lmroute bench gateway` JSON" in capsys.readouterr().err

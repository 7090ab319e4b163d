"""``lmroute serve`` config composition, bad config exit 2, and the keys admin CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from serve.cli import CONF_DIR, build_settings, register_schemas
from serve.cli import main as serve_main
from serve.settings import BackendKind


def compose_serve(overrides: list[str]):
    register_schemas()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="serve", overrides=overrides)


def test_default_config_is_the_embedded_edge() -> None:
    s = build_settings(compose_serve([]))
    edge = s.backends["gemma_edge"]
    assert edge.kind == BackendKind.llamacpp and edge.edge and edge.name == "gemma_edge"
    assert edge.serves == ["gemma-3-270m-q4_k_m"] and s.fallback_backend == "gemma_edge"
    assert s.profiles["lmroute/quality"].epsilon == 0.0
    assert s.profiles["lmroute/auto"].epsilon > 0
    assert not s.auth.enabled


def test_hybrid_backends_and_overrides() -> None:
    s = build_settings(compose_serve(["backends=hybrid", "port=9999", "log.query=sha256"]))
    assert {"gemma_edge", "openai", "together_mixtral"} <= set(s.backends)
    assert s.backends["openai"].api_key_env == "OPENAI_API_KEY" and s.port == 9999
    assert s.fallback_backend == "gemma_edge"  # auto: the group's first edge backend


def test_vllm_backends_bring_their_own_fallback() -> None:
    s = build_settings(compose_serve(["backends=vllm"]))
    assert set(s.backends) == {"vllm_edge"} and s.fallback_backend == "vllm_edge"
    s = build_settings(compose_serve(["backends=vllm", "fallback_backend=null"]))
    assert s.fallback_backend is None


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hydra_dir = f"hydra.run.dir={tmp_path}"
    assert serve_main(["backends.gemma_edge.timeout_s=-1", hydra_dir]) == 2
    assert "backends.gemma_edge" in capsys.readouterr().err
    assert serve_main(["fallback_backend=nope", hydra_dir]) == 2
    assert "fallback_backend" in capsys.readouterr().err


def test_keys_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "k.sqlite")
    assert serve_main(["keys", "--db", db, "create", "--name", "bob", "--models", "a,b",
                       "--daily-budget-usd", "2.5"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["key"].startswith("lmr-") and created["allowed_models"] == ["a", "b"]
    assert serve_main(["keys", "--db", db, "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "bob" and "key" not in listed[0]
    assert serve_main(["keys", "--db", db, "revoke", listed[0]["key_id"]]) == 0
    assert serve_main(["keys", "--db", db, "revoke", "nope"]) == 2
    assert serve_main(["keys", "--db", db, "create", "--name", "x",
                       "--daily-budget-usd", "-1"]) == 2


def test_the_rate_limit_group_puts_its_stage_right_after_admit() -> None:
    from serve.stages.factory import build_pipeline

    s = build_settings(compose_serve(["rate_limit=redis", "guard=balanced",
                                      "rate_limit.stage.requests_per_minute=30",
                                      "++rate_limit.stage.keys={ci: {requests_per_minute: 0}}"]))
    assert s.rate_limit.enabled and s.rate_limit.stage["store"] == "redis"
    names = build_pipeline(s).names
    assert names[:3] == ["admit", "rate-limit", "guard"]
    stage = build_pipeline(s).stages[1]
    assert stage.default is not None and stage.default.rate_per_s == 0.5  # type: ignore[attr-defined]
    assert stage.keys == {"ci": None}  # type: ignore[attr-defined]
    assert "rate-limit" not in build_pipeline(build_settings(compose_serve([]))).names


def test_the_documented_per_key_override_form_composes() -> None:
    """conf/guard/*.yaml and conf/rate_limit/local.yaml document '++<group>.stage.keys={..}':
    without '++' Hydra refuses a new key in the group's empty mapping."""
    from hydra.errors import ConfigCompositionException

    c = compose_serve(["guard=balanced", "++guard.stage.keys={planner: {tools: []}}",
                       "++guard.stage.profiles={lmroute/cheap: {preset: strict}}"])
    assert dict(c.guard.stage["keys"]) == {"planner": {"tools": []}}
    assert c.guard.stage["profiles"]["lmroute/cheap"]["preset"] == "strict"
    with pytest.raises(ConfigCompositionException):
        compose_serve(["guard=balanced", "guard.stage.keys={planner: {tools: []}}"])

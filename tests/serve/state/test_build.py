"""The state group's defaults are the single-process gateway exactly as before (the SQLite
KeyStore, each backend's own health, no replica id, no router sync), and bad values are
one clear error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from serve.backends.health import BackendHealth
from serve.keys import KeyStore
from serve.settings import ServeSettings, StateSettings, settings_from_dict
from serve.state.base import BUDGET_STORES, HEALTH_STORES, KEY_DIRECTORIES, LocalHealthStore
from serve.state.build import build_keys, build_state, replica_id


def _settings(tmp_path: Path, **kw: object) -> ServeSettings:
    return settings_from_dict({
        "backends": {"b": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "serves": ["m"]}},
        "profiles": {"lmroute/auto": {}}, "auth": {"enabled": True,
                                                   "db_path": str(tmp_path / "k.sqlite")},
        **kw})


def test_local_state_is_the_single_process_gateway(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert s.state == StateSettings()  # the default group (conf/state/local.yaml)
    st = build_state(s)
    assert type(st.keys) is KeyStore and st.health is None and st.router_sync is None
    assert st.replica == "" and st.describe() == {"replica": None}
    st.keys.close()


def test_conf_state_local_yaml_matches_the_schema_defaults() -> None:
    import yaml

    root = Path(__file__).resolve().parents[3]
    local = yaml.safe_load((root / "conf" / "state" / "local.yaml").read_text())
    assert StateSettings(**local) == StateSettings()
    shared = yaml.safe_load((root / "conf" / "state" / "shared.yaml").read_text())
    st = StateSettings(**shared).validate()
    assert (st.budgets, st.keys, st.health, st.router_sync) == ("redis", "postgres", "redis",
                                                                "redis")


def test_no_auth_no_key_store(tmp_path: Path) -> None:
    s = _settings(tmp_path, auth={"enabled": False})
    assert build_keys(s) is None


@pytest.mark.parametrize(("field", "value", "match"), [
    ("budgets", "etcd", "state.budgets"), ("keys", "mysql", "state.keys"),
    ("health", "zookeeper", "state.health"), ("router_sync", "kafka", "state.router_sync"),
    ("replica_id", "a/b", "state.replica_id"), ("timeout_s", 0.0, "state.timeout_s"),
    ("swap_wait_s", -1.0, "state.swap_wait_s")])
def test_bad_state_values_name_the_field(tmp_path: Path, field: str, value: object,
                                         match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _settings(tmp_path, state={field: value})


def test_registries_and_replica_ids() -> None:
    import serve.state.pg_keys
    import serve.state.redis_budgets
    import serve.state.redis_health  # noqa: F401

    assert set(KEY_DIRECTORIES) == {"sqlite", "postgres"}
    assert set(BUDGET_STORES) == {"sqlite", "redis"}
    assert set(HEALTH_STORES) == {"local", "redis"}
    assert replica_id(StateSettings(replica_id="r7")) == "r7"
    auto = replica_id(StateSettings(replica_id="auto"))
    assert auto.rsplit("-", 1)[1].isdigit()
    h = LocalHealthStore().health_for("b", 3, 1.0)
    assert type(h) is BackendHealth

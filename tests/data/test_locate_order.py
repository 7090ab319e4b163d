"""Lookup order of the data folder: $LMROUTE_SHARED_DATA, ../shared/data, fetched cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import locate
from data.locate import SharedDataMissing, cache_location, find_data, find_shared_data


@pytest.fixture()
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Three empty candidate folders; the repo root is moved so ../shared is ours."""
    repo = tmp_path / "repo"
    monkeypatch.setattr(locate, "REPO_ROOT", repo)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LMROUTE_SHARED_DATA", str(tmp_path / "env"))
    return {
        "env": tmp_path / "env",
        "sibling": tmp_path / "shared" / "data",
        "cache": tmp_path / "xdg" / "lmroute" / "data",
    }


def make(p: Path, sub: str = "routerbench") -> None:
    (p / sub).mkdir(parents=True)


def test_cache_dir_follows_xdg(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_location() == places["cache"]
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_location() == Path.home() / ".cache" / "lmroute" / "data"


def test_order_env_then_sibling_then_cache(places: dict[str, Path]) -> None:
    make(places["cache"])
    assert find_shared_data() == places["cache"]
    make(places["sibling"])
    assert find_shared_data() == places["sibling"]
    make(places["env"])
    found = find_data()
    assert found is not None and found.path == places["env"]
    assert found.label == "$LMROUTE_SHARED_DATA"


def test_required_subfolder_decides(places: dict[str, Path]) -> None:
    make(places["env"], "profiles")
    make(places["cache"], "routerbench")
    assert find_shared_data("profiles") == places["env"]
    assert find_shared_data("routerbench") == places["cache"]


def test_unset_env_is_skipped(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMROUTE_SHARED_DATA")
    assert next(c.label for c in locate.candidates()) == "../shared/data"


def test_missing_names_every_place_and_the_fetch_command(places: dict[str, Path]) -> None:
    with pytest.raises(SharedDataMissing) as info:
        find_shared_data("routerbench")
    msg = str(info.value)
    for p in places.values():
        assert str(p / "routerbench") in msg
    assert "lmroute data fetch" in msg and "routerbench/arc_challenge_train.csv" in msg


def test_config_resolver_follows_the_same_order(places: dict[str, Path]) -> None:
    """``${lmroute_data:SUB}`` (conf/data/routerbench.yaml, conf/suite.yaml) finds the
    fetched copy when it is the only one, and falls back to ../shared/data when none is."""
    from omegaconf import OmegaConf

    locate.register_resolver()
    conf = OmegaConf.create({"p": "${lmroute_data:routerbench}/routerbench"})
    assert conf.p == str(places["sibling"] / "routerbench")  # none: the error names it
    make(places["cache"])
    conf = OmegaConf.create({"p": "${lmroute_data:routerbench}/routerbench"})
    assert conf.p == str(places["cache"] / "routerbench")

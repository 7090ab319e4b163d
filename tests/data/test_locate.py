"""Locating the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import locate
from data.locate import SharedDataMissing, find_shared_data


def test_env_var_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "routerbench").mkdir()
    monkeypatch.setenv("LMROUTE_SHARED_DATA", str(tmp_path))
    assert find_shared_data() == tmp_path


def test_missing_says_where_to_put_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMROUTE_SHARED_DATA", str(tmp_path / "absent"))
    monkeypatch.setattr(locate, "REPO_ROOT", tmp_path / "repo")  # no ../shared/data
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # no fetched copy
    with pytest.raises(SharedDataMissing) as info:
        find_shared_data("routerbench")
    msg = str(info.value)
    assert "LMROUTE_SHARED_DATA" in msg and "routerbench/arc_challenge_train.csv" in msg

"""The committed fetch manifest, and bad manifests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from data.fetch import verify_dir
from data.fetch_manifest import load_manifest, parse_entry

PINNED = (
    re.compile(r"^https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/.+"),
    re.compile(r"^https://huggingface\.co/datasets/[^/]+/[^/]+/resolve/[0-9a-f]{40}/.+"),
)


def test_committed_manifest_pins_every_url() -> None:
    m = load_manifest()
    assert len(m.files) == 68
    kinds = [f.kind for f in m.files]
    assert (kinds.count("verbatim"), kinds.count("derived"), kinds.count("unavailable")) == (
        41,
        25,
        2,
    )
    for f in m.files:
        for url in f.hosts():
            assert any(p.match(url) for p in PINNED), (f.path, url)
    for f in m.unavailable():
        assert f.reason and f.action and not f.hosts()


def test_manifest_is_exactly_the_shared_folder(shared_data: Path) -> None:
    m = load_manifest()
    on_disk = {
        str(p.relative_to(shared_data))
        for p in shared_data.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert {f.path for f in m.files} == on_disk
    assert verify_dir(m, shared_data) == []


def good() -> dict[str, object]:
    return {
        "path": "a/b.csv",
        "size": 3,
        "sha256": "a" * 64,
        "kind": "verbatim",
        "urls": ["https://example.org/b.csv"],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": "3"}, r"files\[0\] \(a/b.csv\): field 'size' expected int"),
        ({"sha256": "XYZ"}, "sha256 expected 64 lowercase hex"),
        ({"kind": "magic"}, "kind expected one of"),
        ({"path": "/etc/passwd"}, "must be relative"),
        ({"path": "a/../../x"}, "must be relative"),
        ({"urls": ["file:///etc/passwd"]}, "is not an http"),
        ({"urls": []}, "non-empty list"),
        ({"kind": "derived"}, "missing field 'inputs'"),
        ({"kind": "unavailable"}, "missing field 'reason'"),
    ],
)
def test_bad_entry_names_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_entry({**good(), **change}, 0)


def test_duplicate_path_and_bad_json(tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text(json.dumps({"files": [good(), good()]}))
    with pytest.raises(ValueError, match="listed twice"):
        load_manifest(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_manifest(p)

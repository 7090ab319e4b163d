"""The rebuild transforms of ``lmroute data fetch``.

Two kinds of check: excerpts of the real upstream files (copied from the pinned
commits) must give exactly the rows of the shared copy; and, where the shared data is
present, each derived file is rebuilt from an input reconstructed in the upstream's
format and must come out byte-identical (same SHA-256 the manifest records).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from data.fetch_manifest import ManifestFile, load_manifest
from data.fetch_transforms import TRANSFORMS, get_transform

MANIFEST = {f.path: f for f in load_manifest().files}
FIELDS = MANIFEST["profiles/llmperf_requests.csv"].args["fields"]

# ray-project/llmperf-leaderboard@5016c0a:raw_data/individual/together_7b.json, last 2 records
TOGETHER_7B_TAIL = """[
    {
        "error_code": null,
        "error_msg": "",
        "inter_token_latency_s": 0.014159247943820027,
        "ttft_s": 0.7803784119998909,
        "end_to_end_latency_s": 2.526848313000073,
        "request_output_throughput_token_per_s": 58.96673703499656,
        "number_total_tokens": 728,
        "number_output_tokens": 178,
        "number_input_tokens": 550
    },
    {
        "error_code": null,
        "error_msg": "",
        "inter_token_latency_s": 0.017943278976330336,
        "ttft_s": 0.8430903400001171,
        "end_to_end_latency_s": 3.0454262069999913,
        "request_output_throughput_token_per_s": 48.92582839719433,
        "number_total_tokens": 719,
        "number_output_tokens": 169,
        "number_input_tokens": 550
    }
]"""
# ...@23af37e:raw_data/individual/lepton_7b.json, last record (a rate-limited request)
LEPTON_7B_TAIL = """[
    {
        "error_code": 429,
        "error_msg": "",
        "inter_token_latency_s": 0.0,
        "ttft_s": 0,
        "end_to_end_latency_s": 0,
        "request_output_throughput_token_per_s": 0,
        "number_total_tokens": 551,
        "number_output_tokens": 1,
        "number_input_tokens": 550
    }
]"""
# the same requests' rows in ../shared/data/profiles/llmperf_requests.csv
EXPECTED_ROWS = (
    "together,llama-2-7b-chat,,0.7803784119998909,0.014159247943820027,2.526848313000073,"
    "58.96673703499656,550,178\r\n"
    "together,llama-2-7b-chat,,0.8430903400001171,0.017943278976330336,3.0454262069999913,"
    "48.92582839719433,550,169\r\n"
    "lepton,llama-2-7b-chat,429,0,0.0,0,0,550,1\r\n"
)


def test_llmperf_upstream_excerpt_gives_the_shared_rows() -> None:
    runs = [
        {"provider": "together", "model": "llama-2-7b-chat"},
        {"provider": "lepton", "model": "llama-2-7b-chat"},
    ]
    out = get_transform("llmperf_requests_csv").apply(
        [TOGETHER_7B_TAIL.encode(), LEPTON_7B_TAIL.encode()], {"runs": runs, "fields": FIELDS}
    )
    header, rows = out.decode().split("\r\n", 1)
    assert header == "provider,model," + ",".join(FIELDS)
    assert rows == EXPECTED_ROWS


def test_llmperf_rejects_a_record_without_a_field() -> None:
    with pytest.raises(ValueError, match="record 0 lacks"):
        get_transform("llmperf_requests_csv").apply(
            [b'[{"ttft_s": 1}]'], {"runs": [{"provider": "p", "model": "m"}], "fields": FIELDS}
        )


def test_replace_first_line_checks_the_old_header_and_keeps_crlf() -> None:
    t = get_transform("replace_first_line")
    assert t.apply([b"a,b\r\n1,2\r\n"], {"expect": "a,b", "line": "a,c"}) == b"a,c\r\n1,2\r\n"
    with pytest.raises(ValueError, match="first line is b'x,y'"):
        t.apply([b"x,y\n1,2\n"], {"expect": "a,b", "line": "a,c"})


def test_json_select_keeps_order_and_requires_every_value() -> None:
    items = [{"id": "a", "v": 1}, {"id": "b", "v": [2.5]}, {"id": "c"}]
    t = get_transform("json_select")
    out = t.apply([json.dumps(items, indent=2).encode()], {"key": "id", "values": ["c", "a"]})
    assert out == json.dumps([items[0], items[2]]).encode()
    with pytest.raises(ValueError, match=r"not found once each: \['z'\]"):
        t.apply([json.dumps(items).encode()], {"key": "id", "values": ["a", "z"]})


def test_unknown_transform_is_named() -> None:
    with pytest.raises(ValueError, match="expected one of"):
        get_transform("nope")


def test_every_derived_entry_names_a_registered_transform() -> None:
    derived = [f for f in MANIFEST.values() if f.kind == "derived"]
    assert len(derived) == 25 and {f.transform for f in derived} <= set(TRANSFORMS)


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _llmperf_inputs(target: bytes, entry: ManifestFile) -> list[bytes]:
    """The 19 upstream JSON files, rebuilt from the CSV in the upstream's layout."""
    rows = list(csv.reader(io.StringIO(target.decode(), newline="")))
    header, body = rows[0], rows[1:]
    out = []
    for run in entry.args["runs"]:
        recs = [
            dict(zip(header[2:], r[2:], strict=True))
            for r in body
            if r[0] == run["provider"] and r[1] == run["model"]
        ]
        text = ",\n".join(
            "{" + ", ".join(f'"{k}": {v or "null"}' for k, v in rec.items()) + ', "error_msg": ""}'
            for rec in recs
        )
        out.append(f"[{text}]".encode())
    return out


def test_derived_files_rebuild_byte_identical(shared_data: Path) -> None:
    for entry in MANIFEST.values():
        if entry.kind != "derived":
            continue
        target = (shared_data / entry.path).read_bytes()
        if entry.transform == "replace_first_line":
            rest = target[target.index(b"\n") :]
            inputs = [entry.args["expect"].encode() + rest]
        elif entry.transform == "llmperf_requests_csv":
            inputs = _llmperf_inputs(target, entry)
        else:  # json_select: the full list, pretty-printed like locomo10.json, plus others
            items = [*json.loads(target), {"sample_id": "conv-99", "qa": []}]
            inputs = [json.dumps(items, indent=2).encode()]
        out = get_transform(entry.transform).apply(inputs, entry.args)
        assert _sha(out) == entry.sha256 == _sha(target), entry.path

"""Deterministic rebuilds of derived data files from their pinned public inputs.

A transform takes the downloaded input files (bytes, in manifest order) and the entry's
``args`` and returns the output file's bytes; the caller checks them against the
manifest's SHA-256. Transforms only parse text (CSV / JSON): nothing downloaded is ever
unpickled or executed. Registry: ``TRANSFORMS`` (name -> instance), ``get_transform``.
"""

from __future__ import annotations

import csv
import io
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

TRANSFORMS: dict[str, Transform] = {}


class Transform(ABC):
    """Rebuild one file from its inputs; ``ValueError`` when an input is not as expected."""

    name: ClassVar[str]

    @abstractmethod
    def apply(self, inputs: list[bytes], args: dict[str, Any]) -> bytes:
        """``inputs``: the input files' bytes, in manifest order -> the output bytes."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TRANSFORMS[cls.name] = cls()


def get_transform(name: str) -> Transform:
    if name not in TRANSFORMS:
        raise ValueError(f"transform: expected one of {sorted(TRANSFORMS)}, got {name!r}")
    return TRANSFORMS[name]


def _arg(args: dict[str, Any], key: str, kind: type, transform: str) -> Any:
    value = args.get(key)
    if not isinstance(value, kind):
        raise ValueError(f"{transform}: args.{key} expected {kind.__name__}, got {value!r}")
    return value


def _one(inputs: list[bytes], transform: str) -> bytes:
    if len(inputs) != 1:
        raise ValueError(f"{transform}: expected 1 input file, got {len(inputs)}")
    return inputs[0]


class ReplaceFirstLine(Transform):
    """Replace the CSV header line (everything before the first newline), keep the rest.

    args: ``line`` (the new first line), ``expect`` (the first line the input must have).
    """

    name = "replace_first_line"

    def apply(self, inputs: list[bytes], args: dict[str, Any]) -> bytes:
        data = _one(inputs, self.name)
        new = _arg(args, "line", str, self.name).encode("utf-8")
        expect = _arg(args, "expect", str, self.name).encode("utf-8")
        end = data.find(b"\n")
        if end < 0:
            raise ValueError(f"{self.name}: input has no newline")
        first = data[:end].rstrip(b"\r")
        if first != expect:
            raise ValueError(
                f"{self.name}: input's first line is {first[:200]!r}, expected {expect!r}"
            )
        return new + data[len(first) :]


class LlmperfRequestsCsv(Transform):
    """llmperf ``raw_data/individual/<provider>_<size>.json`` files -> one CSV of requests.

    Each input is a JSON list of per-request objects. One output row per object, inputs
    in order: ``provider, model`` (from ``args.runs[i]``) then ``args.fields`` copied as
    the JSON text wrote them (numbers are not re-formatted; null -> empty cell).
    ``csv`` module defaults (excel dialect, CRLF line ends).
    """

    name = "llmperf_requests_csv"

    def apply(self, inputs: list[bytes], args: dict[str, Any]) -> bytes:
        runs = _arg(args, "runs", list, self.name)
        fields = _arg(args, "fields", list, self.name)
        if len(runs) != len(inputs):
            raise ValueError(f"{self.name}: {len(inputs)} inputs but {len(runs)} args.runs")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["provider", "model", *fields])
        for k, (run, raw) in enumerate(zip(runs, inputs, strict=True)):
            records = json.loads(raw, parse_float=str, parse_int=str)
            if not isinstance(records, list):
                raise ValueError(f"{self.name}: input {k} is not a JSON list")
            for j, rec in enumerate(records):
                missing = [f for f in fields if f not in rec]
                if missing:
                    raise ValueError(f"{self.name}: input {k} record {j} lacks {missing}")
                writer.writerow([run["provider"], run["model"], *(rec[f] for f in fields)])
        return out.getvalue().encode("utf-8")


class JsonSelect(Transform):
    """Keep the items of a JSON list whose ``args.key`` is in ``args.values`` (in the
    input's order; every value must be found), written with ``json.dumps`` defaults."""

    name = "json_select"

    def apply(self, inputs: list[bytes], args: dict[str, Any]) -> bytes:
        key = _arg(args, "key", str, self.name)
        values = _arg(args, "values", list, self.name)
        items = json.loads(_one(inputs, self.name))
        if not isinstance(items, list):
            raise ValueError(f"{self.name}: input is not a JSON list")
        kept = [it for it in items if isinstance(it, dict) and it.get(key) in values]
        found = {it[key] for it in kept}
        if found != set(values) or len(kept) != len(values):
            missing = sorted(set(values) - found)
            raise ValueError(f"{self.name}: {key} values not found once each: {missing}")
        return json.dumps(kept).encode("utf-8")

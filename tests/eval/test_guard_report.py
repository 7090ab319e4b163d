"""The PII table and plot compare like with like: ``ALL`` is every type for both systems,
``ALL comparable`` only the types Presidio's patterns cover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.guard_plots import pii_bars
from eval.guard_report import _pii_table


def _s(tp: int, fp: int, fn: int, f2: float) -> dict[str, Any]:
    return {"tp": tp, "fp": fp, "fn": fn, "precision": 0.5, "recall": 0.5, "f2": f2}


def _metrics() -> dict[str, Any]:
    return {"pii": {
        "n_texts": 3,
        "guard": {"PERSON": _s(1, 1, 1, 0.4), "EMAIL_ADDRESS": _s(2, 0, 0, 1.0),
                  "ALL": _s(3, 1, 1, 0.6)},
        "guard_comparable": {"ALL": _s(2, 0, 0, 0.99)},
        "presidio": {"available": True, "scores": {"EMAIL_ADDRESS": _s(2, 0, 0, 0.9),
                                                   "ALL": _s(2, 0, 0, 0.85)},
                     "all_types": _s(2, 0, 2, 0.3)}}}


def test_pii_table_totals_compare_the_same_types(tmp_path: Path) -> None:
    rows = {r[0]: r for r in _pii_table(_metrics()).rows}  # type: ignore[union-attr]
    assert rows["ALL"][4] == "0.600" and rows["ALL"][5] == "0.300"
    assert rows["ALL comparable"][4] == "0.990" and rows["ALL comparable"][5] == "0.850"
    assert rows["PERSON"][5] == ""  # no Presidio figure where it has no recognizer
    assert pii_bars(_metrics(), tmp_path / "pii.png").stat().st_size > 0


def test_pii_table_without_presidio_has_no_presidio_figures() -> None:
    m = _metrics()
    m["pii"]["presidio"] = {"available": False, "why": "not installed"}
    rows = {r[0]: r for r in _pii_table(m).rows}  # type: ignore[union-attr]
    assert rows["ALL"][5] == "" and rows["ALL comparable"][5] == ""

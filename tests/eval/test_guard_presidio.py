"""eval.guard_presidio: when Presidio cannot run, the reason names every missing module."""

from __future__ import annotations

import pytest

from eval import guard_presidio


def test_missing_modules_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("spacy", "tldextract") else real(name))
    analyzer, why = guard_presidio.load_presidio()
    assert analyzer is None
    assert "spacy, tldextract" in why and "not installed" in why


@pytest.mark.skipif(not guard_presidio.missing_modules(), reason="presidio is installed here")
def test_not_installed_here_says_which() -> None:
    analyzer, why = guard_presidio.load_presidio()
    assert analyzer is None
    for m in guard_presidio.missing_modules():
        assert m in why

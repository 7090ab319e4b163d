"""Presidio's analyzer as it installs offline: its pattern recognizers over a BLANK
spaCy pipeline (presidio-analyzer is on PyPI, its spaCy NER model ``en_core_web_lg`` is
not, so the NER-based entities PERSON / LOCATION / NRP / DATE_TIME cannot be compared).

``load_presidio()`` returns None (with the reason) when presidio-analyzer is missing.
"""

from __future__ import annotations

import logging
from typing import Any

from router_model.guard.spans import Span

log = logging.getLogger(__name__)
# Presidio's names -> the names of the synthetic data set / ours
RENAME = {"URL": "DOMAIN_NAME"}
COMPARABLE = ("CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "PHONE_NUMBER",
              "US_SSN", "DOMAIN_NAME", "US_DRIVER_LICENSE")


class PresidioPatterns:
    """``analyze(text) -> list[Span]`` with Presidio's predefined recognizers."""

    def __init__(self, engine: Any, score_threshold: float = 0.0) -> None:
        self.engine = engine
        self.score_threshold = score_threshold

    def analyze(self, text: str) -> list[Span]:
        res = self.engine.analyze(text, language="en", score_threshold=self.score_threshold)
        return [Span(RENAME.get(r.entity_type, r.entity_type), r.start, r.end, r.score,
                     "presidio") for r in res]


NEEDED = ("presidio_analyzer", "spacy", "tldextract")


def missing_modules() -> list[str]:
    """The modules of ``NEEDED`` that are not installed (all of them are reported, not
    only the first import that fails)."""
    from importlib.util import find_spec

    return [m for m in NEEDED if find_spec(m) is None]


def load_presidio(score_threshold: float = 0.0) -> tuple[PresidioPatterns | None, str]:
    """(analyzer, how it was built) or (None, why not)."""
    missing = missing_modules()
    if missing:
        return None, (f"presidio-analyzer cannot run: modules {', '.join(missing)} not "
                      "installed (the dev extra declares it: pip install -e '.[dev]', "
                      "which brings spacy and tldextract)")
    try:
        import spacy
        import tldextract
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError as e:
        return None, f"presidio-analyzer cannot be imported: {type(e).__name__}: {e}"
    offline = tldextract.TLDExtract(suffix_list_urls=())  # bundled snapshot, no download
    tldextract.extract = offline  # type: ignore[assignment, unused-ignore]  # used by email / URL recognizers

    class BlankEngine(SpacyNlpEngine):
        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank:en"}])
            self.nlp: Any = {"en": spacy.blank("en")}

        def load(self) -> None:
            pass

    # it logs "Fetching all recognizers" at INFO on every analyze() call
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)
    eng = BlankEngine()
    reg = RecognizerRegistry()
    reg.load_predefined_recognizers(languages=["en"], nlp_engine=eng)
    analyzer = AnalyzerEngine(nlp_engine=eng, registry=reg, supported_languages=["en"])
    how = (f"presidio-analyzer pattern recognizers ({len(list(reg.recognizers))}) over "
           "spacy.blank('en'); no NER model (en_core_web_lg is not on PyPI)")
    return PresidioPatterns(analyzer, score_threshold), how

"""Dates, times and postcodes by pattern: ``DATE_TIME`` and ``ZIP_CODE`` rule spans.

``dates`` finds ISO / numeric dates with an optional time (``2005-07-21 18:19:22``,
``21/07/2005``), dates with a month name (``July 21, 2005``, ``21 Jul 2005``,
``July 2005``), clock times (``18:19``, ``6 pm``), weekday names and four-digit years
after a preposition (``in 1975``, ``During 2008,``, ``Act of 2003``). A bare number
is never a date on its own (``2906`` in a street, ``1000`` items).

``zip_codes`` finds postcodes only where an address puts them: at the end of a line
or before `` in its mission``-like text after a place name, i.e. a postcode-shaped
token (``62704``, ``62704-1234``, ``53-320``, ``340 12``, ``B0J 2H0``, ``SW1A 1AA``)
right after a two-letter state / region code or a capitalised place name, and not
followed by more digits. Each rule has a prefilter (a digit, a month / weekday
name) so clean text costs one scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from router_model.guard.spans import Span

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
          r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?|"
          r"JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?|"
          r"SEPT?(?:EMBER)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)")
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]|20)\d\d"
_AMPM = r"\s?(?i:[ap]\.?m\b\.?)"
_TIME = rf"(?:(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:{_AMPM})?|(?:1[0-2]|0?\d){_AMPM})"
_NUMERIC = (rf"(?:{_YEAR}[\-/.](?:0?[1-9]|1[0-2])[\-/.](?:[12]\d|3[01]|0?[1-9])|"
            rf"(?:[12]\d|3[01]|0?[1-9])[\-/.](?:[12]\d|3[01]|0?[1-9])[\-/.](?:{_YEAR}|\d\d))")
_NAMED = (rf"(?:{_MONTH}\.?\s{_DAY}(?:,?\s{_YEAR})?|{_DAY}\s(?:of\s)?{_MONTH}\.?(?:,?\s{_YEAR})?|"
          rf"{_MONTH}\.?,?\s{_YEAR})")
_WEEKDAY = r"(?i:(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
_DATE_TIME = re.compile(
    rf"(?<![\w\-/.:])(?:(?:{_WEEKDAY},?\s)?(?:{_NUMERIC}|{_NAMED})"
    rf"(?:(?:\s|T|,\s|\sat\s){_TIME})?|{_TIME}|{_WEEKDAY})(?![\w\-/:]|\.\d)")
_YEAR_AFTER = re.compile(rf"\b(?:in|during|of|since|until|by|from|year|circa|before|after|"
                         rf"around|early|late|on)\s({_YEAR}s?)(?![\w\-/:]|\.\d)",
                         re.IGNORECASE)
_DATE_HINT = re.compile(r"\d|day|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec",
                        re.IGNORECASE)
# a postcode after a two-letter state / region code, on the same line or the next one
# ("IL 62704", "Aalborg NO 9100", "NS\n    B0J 2H0"); "nan" is the missing state of the
# Presidio synthetic records
_ZIP_SHAPE = (r"(?:\d{5}(?:-\d{4})?|\d{3}\s\d{2}|\d{2}-\d{3}|\d{4}-\d{3}|\d{3,4}|"
              r"[A-Z]\d[A-Z]\s\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2})")
_ZIP = re.compile(rf"(?<![\w.])(?:[A-Z]{{2}}|nan),?[ \t]*\n?[ \t]*({_ZIP_SHAPE})"
                  r"(?=[ \t]*(?:$|[,.;)]))", re.MULTILINE)


def dates(text: str) -> Iterator[Span]:
    """``DATE_TIME`` spans (see module docstring)."""
    if _DATE_HINT.search(text) is None:
        return
    for m in _DATE_TIME.finditer(text):
        yield Span("DATE_TIME", m.start(), m.end())
    for m in _YEAR_AFTER.finditer(text):
        yield Span("DATE_TIME", m.start(1), m.end(1))


def zip_codes(text: str) -> Iterator[Span]:
    """``ZIP_CODE`` spans: postcode-shaped tokens where an address puts them."""
    for m in _ZIP.finditer(text):
        yield Span("ZIP_CODE", m.start(1), m.end(1))

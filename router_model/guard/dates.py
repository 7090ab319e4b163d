"""Dates, times and postcodes by pattern: ``DATE_TIME`` and ``ZIP_CODE`` rule spans.

``dates`` finds ISO / numeric dates with an optional time (``2005-07-21 18:19:22``,
``21/07/2005``), dates with a month name (``July 21, 2005``, ``21 Jul 2005``,
``July 2005``), clock times (``18:19``, ``6 pm``), weekday names and four-digit years
after a preposition (``in 1975``, ``During 2008,``, ``Act of 2003``). A bare number
is never a date on its own (``2906`` in a street, ``1000`` items).

``zip_codes`` finds postcodes only where an address puts them: a postcode-shaped token
(``62704``, ``62704-1234``, ``53-320``, ``340 12``, ``B0J 2H0``, ``SW1A 1AA``) right after
a two-letter state / region code (or the Presidio records' ``nan``) on the same or the
previous line, at the end of its line or before punctuation. It is opt-in
(``rules.DEFAULT_RULES``): in the Presidio gold most such postcodes are part of one
whole STREET_ADDRESS span. The date patterns are tried only where a digit run or a month /
weekday name starts (C-level scans), so clean text costs little.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from router_model.guard.spans import Span, resolve

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
_AT = rf"(?:(?:\s|T|,\s|\sat\s){_TIME})?"
_END = r"(?![\w\-/:]|\.\d)"
# two scans, each starting on a cheap first character: digits, then month / weekday names
_FROM_DIGIT = re.compile(rf"(?:{_NUMERIC}{_AT}|{_DAY}\s(?:of\s)?{_MONTH}\.?(?:,?\s{_YEAR})?{_AT}|"
                         rf"{_TIME}|(?P<year>{_YEAR})s?){_END}")
_FROM_NAME = re.compile(rf"(?:(?:{_WEEKDAY},?\s)?(?:{_MONTH}\.?\s{_DAY}(?:,?\s{_YEAR})?|"
                        rf"{_MONTH}\.?,?\s{_YEAR}){_AT}|{_WEEKDAY}){_END}")
_PREPOSITION = re.compile(r"\b(?:in|during|of|since|until|by|from|year|circa|before|after|"
                          r"around|early|late|on)\s$", re.IGNORECASE)
_NAME_HINTS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
               "NOV", "DEC")
_DIGITS = re.compile(r"\d+")
# a postcode after a two-letter state / region code, on the same line or the next one
# ("IL 62704", "Aalborg NO 9100", "NS\n    B0J 2H0"); "nan" is the missing state of the
# Presidio synthetic records
_ZIP_SHAPE = (r"(?:\d{5}(?:-\d{4})?|\d{3}\s\d{2}|\d{2}-\d{3}|\d{4}-\d{3}|\d{3,4}|"
              r"[A-Z]\d[A-Z]\s\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2})")
_ZIP = re.compile(rf"(?<![\w.])(?:[A-Z]{{2}}|nan),?[ \t]*\n?[ \t]*({_ZIP_SHAPE})"
                  r"(?=[ \t]*(?:$|[,.;)]))", re.MULTILINE)


def dates(text: str) -> Iterator[Span]:
    """``DATE_TIME`` spans (see module docstring; the longest where the scans overlap)."""
    found = [Span("DATE_TIME", s, e) for s, e in _date_runs(text)]
    yield from resolve(found) if len(found) > 1 else found


def _date_runs(text: str) -> Iterator[tuple[int, int]]:
    """Matches of the two patterns, tried only where a digit run or a month / weekday
    name starts (found by C-level scans: the patterns have no cheap first character)."""
    end = 0
    for d in _DIGITS.finditer(text):
        i = d.start()
        m = _FROM_DIGIT.match(text, i) if i >= end and _starts_word(text, i) else None
        if m is not None and (m.group("year") is None
                              or _PREPOSITION.search(text, max(0, i - 8), i)):
            end = m.end()
            yield i, end
    for i in _name_starts(text):
        m = _FROM_NAME.match(text, i)
        if m is not None:
            yield i, m.end()


def _name_starts(text: str) -> list[int]:
    """Word starts where a month name (capitalised or upper case) or a ``-day`` word is."""
    out = set()
    for h in _NAME_HINTS:
        i = text.find(h)
        while i >= 0:
            out.add(i)
            i = text.find(h, i + 1)
    low = text.lower()
    i = low.find("day")
    while i >= 0:
        j = i
        while j > 0 and low[j - 1].isalpha() and i - j < 6:
            j -= 1
        out.add(j)
        i = low.find("day", i + 1)
    return sorted(k for k in out if _starts_word(text, k))


def _starts_word(text: str, i: int) -> bool:
    """Nothing word-like just before ``i`` (not the middle of a number, code or path)."""
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_-/.:")


def zip_codes(text: str) -> Iterator[Span]:
    """``ZIP_CODE`` spans: postcode-shaped tokens where an address puts them."""
    for m in _ZIP.finditer(text):
        yield Span("ZIP_CODE", m.start(1), m.end(1))

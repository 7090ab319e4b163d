"""Structured PII by pattern + validator: emails, URLs, IBANs, cards, SSNs, IPs, phones
(and dates / postcodes, ``dates``; nationalities / countries, ``places``).

Every pattern has a cheap prefilter (a character that must occur, or one digit-group
scan shared by the number rules) so text without candidates costs almost nothing, and
every candidate is checked by ``validators`` (Luhn, mod-97, SSN numbering,
libphonenumber, ``ipaddress``) before it becomes a span. Overlaps are resolved by
``spans.resolve`` with ``PRIORITY`` (a card is not also a phone number).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from router_model.guard import validators as v
from router_model.guard.dates import dates, zip_codes
from router_model.guard.places import places
from router_model.guard.spans import Span, resolve

RULE_ENTITIES = ("EMAIL_ADDRESS", "DOMAIN_NAME", "IBAN_CODE", "CREDIT_CARD", "US_SSN",
                 "IP_ADDRESS", "PHONE_NUMBER", "DATE_TIME", "ZIP_CODE", "GPE", "NRP")
PRIORITY = {e: i for i, e in enumerate(RULE_ENTITIES)}
MAX_GROUPS = 8  # digit groups in one entity at most (a phone: +46 (0)8 928 571 38 ext 12)
LONGEST_MATCH = 80  # no rule span here is longer (IBAN 34 + spaces, IPv6 45, URL capped)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*"
                    r"\.[A-Za-z]{2,24}")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`]{2,76}", re.IGNORECASE)
_URL_TRAIL = ".,;:!?)]}'\""
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|"
                   r"(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?)(?![A-Za-z0-9])")
# digit groups: digits with single separators, optional +country and (area) code
_NUMBER = re.compile(r"(?<![\w.+\-])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?"
                     r"\d{1,5}(?:[ .\-/]?\d{1,5})*"
                     r"(?:(?:x| ?ext\.? ?)\d{1,5})?(?![\w])")
# every IPv6 match holds ":h:" (two groups then more); this starts on a literal, so a
# text without one costs one C-level scan (the full pattern has no cheap first character)
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{1,4}:")
# every IBAN match holds two letters then two digits; a scan starting on the digits
_IBAN_HINT = re.compile(r"\d\d(?<=[A-Za-z]{2}\d\d)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,6}|"
                   r"[0-9A-Fa-f]{1,4})(?![\w:])")
_SSN = re.compile(r"\d{3}([ \-])\d{2}\1\d{4}")
_DATE = re.compile(r"((?:19|20)\d\d)[\-/.](\d{1,2})[\-/.](\d{1,2})(?!\d)|"
                   r"(\d{1,2})[\-/.](\d{1,2})[\-/.]((?:19|20)?\d\d)(?!\d)")
_YEARS = re.compile(r"(?:(?:19|20)\d\d[ \-/]?)+")
_GROUP_SEP = re.compile(r"(?<=\d)[ .\-/]+(?=\d)")
_STRONG_PHONE = re.compile(r"^\s*(?:\+|\()")
_GROUP = re.compile(r"\+?\(?\d+\)?")
_SSN_CONTEXT = re.compile(r"ssn|social security", re.IGNORECASE)
_WORDLIKE = re.compile(r"[^\W_]")
_TOKEN = re.compile(r"[^\W_]{2}")
_CAPITALISED = ("ORGANIZATION", "GPE")  # (a lowercase PERSON span: a lowercased text)


def emails(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        yield Span("EMAIL_ADDRESS", m.start(), m.end())


def urls(text: str) -> Iterator[Span]:
    if "://" not in text and "www." not in text.lower():
        return
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _URL_TRAIL:
            end -= 1
        if "." in text[m.start():end].split("://")[-1]:
            yield Span("DOMAIN_NAME", m.start(), end)


def _iban_regions(text: str) -> list[tuple[int, int, bool]]:
    """IBAN-shaped matches as (start, end, valid): a grouped match that runs into the next
    word(s) is trimmed group by group until the mod-97 check passes (else kept whole)."""
    out: list[tuple[int, int, bool]] = []
    if _IBAN_HINT.search(text) is None:
        return out
    for m in _IBAN.finditer(text):
        value = m.group()
        for _ in range(3):
            if v.is_iban(value.replace(" ", "")):
                out.append((m.start(), m.start() + len(value), True))
                break
            if " " not in value:
                out.append((m.start(), m.end(), False))
                break
            value = value.rsplit(" ", 1)[0]
        else:
            out.append((m.start(), m.end(), False))
    return out


def ibans(text: str) -> Iterator[Span]:
    for s, e, valid in _iban_regions(text):
        if valid:
            yield Span("IBAN_CODE", s, e)


def ipv6(text: str) -> Iterator[Span]:
    if text.count(":") < 3 or _IPV6_HINT.search(text) is None:
        return
    for m in _IPV6.finditer(text):
        if v.is_ip(m.group()):
            yield Span("IP_ADDRESS", m.start(), m.end())


def _classify(num: str, text: str, start: int) -> str | None:
    """Entity type of one digit-group candidate, or None."""
    if _IPV4.fullmatch(num):
        return "IP_ADDRESS" if v.is_ip(num) else None
    if _SSN.fullmatch(num) or (len(num) == 9 and num.isdigit()
                               and _SSN_CONTEXT.search(text, max(0, start - 40), start)):
        return "US_SSN" if v.is_ssn(num) else None
    if "+" not in num and "(" not in num and v.is_card(num):
        return "CREDIT_CARD"
    if is_date(num) or _YEARS.fullmatch(num):
        return None
    return "PHONE_NUMBER" if phone_format(num) and v.is_phone(num) else None


def is_date(num: str) -> bool:
    """``num`` starts with a calendar date (Y-M-D, D-M-Y or M-D-Y, ranges checked)."""
    m = _DATE.match(num)
    if m is None:
        return False
    if m.group(1):
        return 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31
    a, b = int(m.group(4)), int(m.group(5))
    return 1 <= min(a, b) <= 12 and 1 <= max(a, b) <= 31


def phone_format(num: str) -> bool:
    """A strong phone layout: ``+country`` / ``(area)``, or 10+ digits, or 3+ digit groups
    of 2+ digits with one kind of separator (``03.93.92.16.85``, ``905-674-3793``).
    Two-group local numbers (``467 3395``) look like street numbers and are left to
    the tagger, whose spans of this type the same validator checks."""
    body = num.split("x")[0].split("ext")[0]
    if _STRONG_PHONE.match(body):
        return True
    seps = {s.strip() or " " for s in _GROUP_SEP.findall(body)}
    groups = [g for g in _GROUP_SEP.split(body) if g]
    if len(seps) > 1 or any(len(g) < 2 for g in groups[1:]):
        return False
    if not seps:  # bare digits: 10+ of them, not a round number like 1000000000
        return len(body) >= 10 and len(set(body)) >= 4
    return len(groups) >= 3


def numbers(text: str) -> Iterator[Span]:
    """Cards, SSNs, IPv4 addresses and phone numbers from one scan of digit groups
    (digits inside an IBAN-shaped string, valid or not, are none of these). A run that
    is none of them as a whole is tried group by group (a card after other numbers)."""
    ibanlike: list[tuple[int, int, bool]] | None = None
    for m in _NUMBER.finditer(text):
        num, start = m.group(), m.start()
        if sum(c.isdigit() for c in num) < 7:
            continue
        if ibanlike is None:
            ibanlike = _iban_regions(text)
        inside = [e for s, e, _ in ibanlike if s < m.end() and start < e]
        if inside:  # keep only the groups after the IBAN-shaped text
            rest = [g.start() for g in _GROUP.finditer(num) if start + g.start() >= max(inside)]
            if not rest:
                continue
            num, start = num[rest[0]:], start + rest[0]
            if sum(c.isdigit() for c in num) < 7:
                continue
        kind = _classify(num, text, start) if len(_GROUP.findall(num)) <= MAX_GROUPS else None
        if kind is not None:
            yield Span(kind, start, start + len(num))
        else:
            yield from _subgroups(num, text, start, phones=_joined(num))


def _joined(num: str) -> bool:
    """Longer than any one entity (> 19 digits or > MAX_GROUPS groups) or mixing
    separators: maybe several entities side by side."""
    seps = {s.strip() or " " for s in _GROUP_SEP.findall(num)}
    return (sum(c.isdigit() for c in num) > 19 or len(seps) > 1
            or len(_GROUP.findall(num)) > MAX_GROUPS)


def _subgroups(num: str, text: str, base: int, phones: bool) -> Iterator[Span]:
    """Longest valid runs of whole digit groups inside a rejected candidate, left first
    (phone numbers only where the run is ``_joined``: the groups of a mistyped card are
    not a phone number); no run starts right after a dot."""
    groups = [(g.start(), g.end()) for g in _GROUP.finditer(num)]
    i = 0
    while i < len(groups):
        if groups[i][0] and num[groups[i][0] - 1] == ".":  # a fractional part (2.2833...)
            i += 1
            continue
        for j in range(min(len(groups), i + MAX_GROUPS), i, -1):
            sub = num[groups[i][0]:groups[j - 1][1]]
            if (i, j) != (0, len(groups)) and sum(c.isdigit() for c in sub) >= 7:
                kind = _classify(sub, text, base + groups[i][0])
                if kind is not None and (phones or kind != "PHONE_NUMBER"):
                    yield Span(kind, base + groups[i][0], base + groups[j - 1][1])
                    i = j - 1
                    break
        i += 1


RULES: dict[str, Callable[[str], Iterator[Span]]] = {
    "emails": emails, "urls": urls, "ibans": ibans, "ipv6": ipv6, "numbers": numbers,
    "dates": dates, "zip_codes": zip_codes, "places": places}
# the rules the input check runs: ``zip_codes`` is opt-in (on the Presidio validation
# split it found no postcode the gold marks as one: there a postcode is part of a whole
# STREET_ADDRESS span, docs/guard.md)
DEFAULT_RULES = tuple(name for name in RULES if name != "zip_codes")


# the free-form entity types the date / word-list rules find; the structured rules' types
# (cards, IBANs, e-mails, ...) are always acted on, these only where a policy redacts them
FREE_FORM_RULES: dict[str, tuple[str, ...]] = {
    "dates": ("DATE_TIME",), "places": ("GPE", "NRP"), "zip_codes": ("ZIP_CODE",)}


def rules_for(redacts: Callable[[str], bool], rules: tuple[str, ...] = DEFAULT_RULES
              ) -> tuple[str, ...]:
    """``rules`` without the free-form ones whose types ``redacts`` says no to (what the
    output filter runs: a date or a country name it does not redact needs no scan)."""
    return tuple(r for r in rules
                 if r not in FREE_FORM_RULES or any(map(redacts, FREE_FORM_RULES[r])))


def find_pii(text: str, rules: tuple[str, ...] = DEFAULT_RULES) -> list[Span]:
    """All structured PII spans of ``text`` (overlaps resolved by ``PRIORITY``)."""
    found = [s for name in rules for s in RULES[name](text)]
    return resolve(found, PRIORITY) if len(found) > 1 else found


def validate(entity_type: str, value: str) -> bool | None:
    """Whether ``value`` passes the validator of a rule-owned type (None: no validator;
    used to accept the tagger's spans of these types); a value without a letter or
    digit is no entity of any type (False)."""
    checks: dict[str, Callable[[str], bool]] = {
        "CREDIT_CARD": v.is_card, "IBAN_CODE": lambda s: v.is_iban(s.replace(" ", "")),
        "US_SSN": v.is_ssn, "IP_ADDRESS": v.is_ip, "PHONE_NUMBER": v.is_phone,
        "EMAIL_ADDRESS": lambda s: _EMAIL.fullmatch(s) is not None}
    if not plausible(entity_type, value):
        return False
    check = checks.get(entity_type)
    return None if check is None else check(value.strip())


def plausible(entity_type: str, value: str) -> bool:
    """The shape spans of its type have in the Presidio train gold (all but 26, in its
    lowercased sentences, the records' 'nan' state and 'U.N.'):
    a letter or digit (no '>' or ', '); a run of two (no answer option 'D' or 'C', no
    '0'; an age may be one digit); an organisation or place starting with no lowercase
    letter (no 'felines', 'fostering')."""
    if _WORDLIKE.search(value) is None:
        return False
    if entity_type == "AGE":
        return True
    if _TOKEN.search(value) is None:
        return False
    return not (entity_type in _CAPITALISED and value[:1].islower())

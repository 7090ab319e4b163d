"""Validators for structured PII candidates (the checks a regex alone cannot make).

Each takes the matched text and returns whether it is what it looks like. The checksum
and numbering rules come from well-kept libraries: ``python-stdnum`` (Luhn, IBAN
mod-97 with per-country lengths, US SSN area/group/serial rules) and ``phonenumbers``
(Google's libphonenumber metadata); IP addresses from the standard ``ipaddress``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from functools import lru_cache

import phonenumbers
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.us import ssn as _ssn

# regions tried for numbers written without a country code (the data's and the
# gateway's likely callers); a leading "+" needs none
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "CA", "AU", "FI", "HU", "NL", "ES", "IT")
# issuer prefixes: old JCB 1800/2131, Mastercard 2-series, Amex/Diners/JCB, Visa, MC, ...
CARD_PREFIXES = ("1800", "2131", "2", "3", "4", "5", "6")
_NON_DIGIT = re.compile(r"\D")


def digits(text: str) -> str:
    """The digits of ``text``."""
    return _NON_DIGIT.sub("", text)


def is_card(text: str) -> bool:
    """12-19 digits, a card-issuer first digit and a valid Luhn check digit, written
    with no separators but spaces and dashes (``3.5355339059327378`` is a float: one in
    ten such digit strings passes Luhn; no card of the Presidio gold has a dot or slash)."""
    if "." in text or "/" in text:
        return False
    d = digits(text)
    return 12 <= len(d) <= 19 and d.startswith(CARD_PREFIXES) and _luhn.is_valid(d)


def is_iban(text: str) -> bool:
    """ISO 13616 IBAN: known country, its length, and the mod-97 check."""
    return bool(_iban.is_valid(text.upper()))


def is_ssn(text: str) -> bool:
    """US SSN: 9 digits, not area 000 / 666 / 9xx, group 00 or serial 0000."""
    return bool(_ssn.is_valid(digits(text)))


def is_ip(text: str) -> bool:
    """A syntactically valid IPv4 or IPv6 address (not 0.0.0.0-style version numbers
    with fewer than four parts, which the pattern already excludes)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def is_phone(text: str) -> bool:
    """A number that libphonenumber considers possible for its country code ("+..."),
    or for one of ``PHONE_REGIONS``; 7-15 digits either way."""
    n = len(digits(text))
    if not 7 <= n <= 15:
        return False
    regions = (None,) if text.lstrip().startswith("+") else PHONE_REGIONS
    for region in regions:
        try:
            num = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(num):
            return True
    return False


def shannon_bits(text: str) -> float:
    """Shannon entropy of the characters of ``text`` in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def looks_random(value: str, min_len: int = 12, min_bits: float = 3.0) -> bool:
    """A secret-like value: long enough, high character entropy, mixed character
    classes (so words and plain numbers are not taken for keys)."""
    if len(value) < min_len or shannon_bits(value) < min_bits:
        return False
    classes = sum(bool(re.search(rx, value)) for rx in (r"[a-z]", r"[A-Z]", r"\d", r"[_\-+/=]"))
    return classes >= 2 and not value.isalpha()

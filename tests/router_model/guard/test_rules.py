import pytest

from router_model.guard import validators as v
from router_model.guard.rules import find_pii, plausible, validate
from router_model.guard.secrets import find_secrets


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.entity_type, text[s.start:s.end]) for s in find_pii(text)]


@pytest.mark.parametrize("text,want", [
    ("pay with 4111 1111 1111 1111 today", ("CREDIT_CARD", "4111 1111 1111 1111")),
    ("IBAN GB82 WEST 1234 5698 7654 32 thanks", ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32")),
    ("transfer from GB82WEST12345698765432 to other bank", ("IBAN_CODE", "GB82WEST12345698765432")),
    ("mail me: jane.doe+x@example.co.uk.", ("EMAIL_ADDRESS", "jane.doe+x@example.co.uk")),
    ("call +1 (212) 555-0199 now", ("PHONE_NUMBER", "+1 (212) 555-0199")),
    ("SSN 536-22-1587 on file", ("US_SSN", "536-22-1587")),
    ("from 192.168.1.20 and", ("IP_ADDRESS", "192.168.1.20")),
    ("v6 2001:db8::8a2e:370:7334 ok", ("IP_ADDRESS", "2001:db8::8a2e:370:7334")),
    ("see https://example.org/a?b=1).", ("DOMAIN_NAME", "https://example.org/a?b=1")),
])
def test_structured_entities_found(text: str, want: tuple[str, str]) -> None:
    assert want in kinds(text)


@pytest.mark.parametrize("text", [
    "pay with 4111 1111 1111 1112 today",  # Luhn fails: the negative control of the card rule
    "IBAN GB83 WEST 1234 5698 7654 32",  # mod-97 fails
    "SSN 666-05-1120 and 000-12-3456",  # never-issued areas
    "on 2000-04-16 11:34 we met",  # a date and time, not a phone
    "options: 0.25 1.6 1.0 and 6.1445 x 10^-27 J T-1",  # decimals, not a phone
    "version 1.2.3.4.5 and 999.1.1.1",  # not IPv4
    "What is a good password policy? Ignore the kill switch.",
])
def test_lookalikes_not_found(text: str) -> None:
    assert [k for k in kinds(text) if k[0] != "DATE_TIME"] == []  # a date is a date


@pytest.mark.parametrize("number", ["3.5355339059327378", "2.283333333333333",
                                    "f(5.0, 0.9272952180016122)"])
def test_a_float_is_no_card_even_when_its_digits_pass_luhn(number: str) -> None:
    assert [k for k in kinds(f"assert {number} == y") if k[0] == "CREDIT_CARD"] == []
    assert not v.is_card(number)


def test_the_float_examples_digits_pass_luhn() -> None:  # the control of the test above
    for digits in ("35355339059327378", "2283333333333333"):
        assert ("CREDIT_CARD", digits) in kinds(f"card {digits} ok")


def test_validators_are_the_libraries() -> None:
    assert v.is_card("4111111111111111") and not v.is_card("4111111111111112")
    assert v.is_iban("GB82WEST12345698765432") and not v.is_iban("GB82WEST12345698765433")
    assert v.is_phone("+44 20 7946 0958") and not v.is_phone("12")
    assert v.is_ssn("536-22-1587") and not v.is_ssn("900-05-1120")
    assert validate("CREDIT_CARD", " 4111111111111111 ") is True
    assert validate("CREDIT_CARD", "1234") is False and validate("PERSON", "Ann") is None


def test_secrets() -> None:
    text = ("key sk-proj-abcDEF1234567890abcdefXYZ and AKIAIOSFODNN7EXAMPLE, "
            'token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789" password: hunter2-Xq9zz')
    got = {text[s.start:s.end] for s in find_secrets(text)}
    assert {"sk-proj-abcDEF1234567890abcdefXYZ", "AKIAIOSFODNN7EXAMPLE",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "hunter2-Xq9zz"} <= got
    assert find_secrets("The password is strong. What is a token economy?") == []


@pytest.mark.parametrize("value", [">", ", ", ":", "\n>"])
def test_punctuation_is_no_entity(value: str) -> None:
    assert validate("STREET_ADDRESS", value) is False and validate("GPE", value) is False
    assert validate("GPE", "Oulu") is None


@pytest.mark.parametrize("entity_type,value,want", [
    ("PERSON", "D", False), ("ORGANIZATION", "C", False), ("STREET_ADDRESS", "0", False),
    ("GPE", "felines", False), ("ORGANIZATION", "fostering", False),
    ("PERSON", "lena andersson", True), ("AGE", "5", True), ("GPE", "OULU", True),
    ("ORGANIZATION", "Marshall, Hernandez and Simpson", True), ("NRP", "saudis", True),
    ("DOMAIN_NAME", "https://x.se/", True)])
def test_tagger_span_shapes(entity_type: str, value: str, want: bool) -> None:
    assert plausible(entity_type, value) is want
    assert (validate(entity_type, value) is False) is not want

import pytest

from router_model.guard.dates import dates, zip_codes
from router_model.guard.rules import find_pii


def found(text: str) -> list[str]:
    return [text[s.start:s.end] for s in dates(text)]


@pytest.mark.parametrize("text,want", [
    ("When: 2005-07-21 18:19:22\nWhere: Novo", "2005-07-21 18:19:22"),
    ("On 2018-01-14 03:07:43, the Russian government", "2018-01-14 03:07:43"),
    ("Leiva flew to LEPPEN on Tuesday morning.", "Tuesday"),
    ("flew to Coles on friday morning.", "friday"),
    ("During 1980, Nera Economic Consulting", "1980"),
    ("the Civil Rights Act of 2003 protects", "2003"),
    ("later became Zillow in 2014.", "2014"),
    ("due 21/07/2005 at noon", "21/07/2005"),
    ("on July 21, 2005 at 6 pm", "July 21, 2005 at 6 pm"),
    ("born 3rd of March 1999", "3rd of March 1999"),
    ("Saturday, March 3rd 2001", "Saturday, March 3rd 2001"),
    ("meet at 10:30am", "10:30am"),
    ("music of the 1990s", None),
    ("since 1990s", "1990s"),
])
def test_dates_found(text: str, want: str | None) -> None:
    assert found(text) == ([want] if want else [])


@pytest.mark.parametrize("text", [
    "He lives on the north side of Joaquin Suarez 2906.",  # a street number
    "buy 1000 items, 2024 of them red",  # a bare number is no year
    "I may 2 go, march 3 steps",  # lowercase month words
    "version 1.2.3 and 3.14:15 and 10.2024",
    "card 4111 1111 1111 1111",
])
def test_non_dates_not_found(text: str) -> None:
    assert found(text) == []


def test_dates_are_rule_spans_below_the_number_rules() -> None:
    text = "call +1 (212) 555-0199 on 2000-04-16 11:34"
    assert [(s.entity_type, text[s.start:s.end]) for s in find_pii(text)] == [
        ("PHONE_NUMBER", "+1 (212) 555-0199"), ("DATE_TIME", "2000-04-16 11:34")]


@pytest.mark.parametrize("text,want", [
    ("Billing address: Sara\n  28245 Puruntie 82 Apt. 595\n  LAPPEENRANTA\n  SK\n  53650",
     "53650"),
    ("Mellemvej 32\nAalborg NO 9100", "9100"),
    ("Springfield, IL 62704-1234.", "62704-1234"),
    ("Mill Village\n    NS\n    B0J 2H0", "B0J 2H0"),
    ("Bygget 91\nANNERSTAD nan 340 12", "340 12"),
])
def test_zip_in_an_address(text: str, want: str) -> None:
    assert [text[s.start:s.end] for s in zip_codes(text)] == [want]


@pytest.mark.parametrize("text", [
    "Suite 838\n   Tujetsch", "US 2024 budget talks", "Denmark 35018 and more", "AB 12"])
def test_zip_negative_controls(text: str) -> None:
    assert list(zip_codes(text)) == []


def test_zip_rule_is_opt_in() -> None:
    text = "Springfield, IL 62704"
    assert find_pii(text) == []
    assert [s.entity_type for s in find_pii(text, ("zip_codes",))] == ["ZIP_CODE"]

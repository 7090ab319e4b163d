import pytest

from router_model.guard.places import places
from router_model.guard.rules import find_pii


def found(text: str) -> list[tuple[str, str]]:
    return [(s.entity_type, text[s.start:s.end]) for s in places(text)]


@pytest.mark.parametrize("text,want", [
    ("the Russian government formally began", [("NRP", "Russian")]),
    ("We are proud ecuadoreans", [("NRP", "ecuadoreans")]),
    ("We are proud surinameses", [("NRP", "surinameses")]),
    ("There's this nice new English place downtown", [("NRP", "English")]),
    ("Catholic and Muslim leaders", [("NRP", "Catholic"), ("NRP", "Muslim")]),
    ("Suwałki\n\n Poland 11248", [("GPE", "Poland")]),
    (">Port Whangarei\n>New Zealand 15896", [("GPE", "New Zealand")]),
    ("moved to the czech republic", [("GPE", "czech republic")]),
    ("the Treaty on European Union", [("GPE", "European Union")]),
])
def test_places_found(text: str, want: list[tuple[str, str]]) -> None:
    assert found(text) == want


@pytest.mark.parametrize("text", [
    "while studying English and journalism",  # a language
    "translate it into Spanish please",
    "New York is new to me", "a pole and a turkey sandwich",
    "United\nKingdom",  # a name does not run over a line break
])
def test_places_negative_controls(text: str) -> None:
    assert found(text) == []


def test_places_are_rule_spans() -> None:
    text = "the Italian government"
    assert [(s.entity_type, s.source) for s in find_pii(text)] == [("NRP", "rule")]


def test_offsets_survive_a_letter_whose_lowercase_is_longer() -> None:
    text = "İstanbul and the Turkish coast"
    assert found(text) == [("NRP", "Turkish")]

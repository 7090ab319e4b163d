from router_model.guard.spans import Span, resolve


def rule(t: str, a: int, b: int) -> Span:
    return Span(t, a, b, 1.0, "rule")


def tagger(t: str, a: int, b: int) -> Span:
    return Span(t, a, b, 0.9, "tagger")


def test_rule_span_wins_and_tagger_keeps_the_rest() -> None:
    # "Springfield, IL 62704": a tagger address over the rule's date-like / postcode span
    got = resolve([tagger("STREET_ADDRESS", 0, 21), rule("ZIP_CODE", 16, 21)])
    assert got == [tagger("STREET_ADDRESS", 0, 16), rule("ZIP_CODE", 16, 21)]


def test_longest_rest_between_two_rule_spans() -> None:
    got = resolve([tagger("PERSON", 0, 30), rule("DATE_TIME", 2, 6), rule("PHONE_NUMBER", 20, 28)])
    assert tagger("PERSON", 6, 20) in got and len(got) == 3


def test_tagger_span_inside_a_rule_span_is_dropped() -> None:
    got = resolve([tagger("DATE_TIME", 3, 7), rule("DATE_TIME", 0, 19),
                   tagger("DATE_TIME", 17, 19)])
    assert got == [rule("DATE_TIME", 0, 19)]


def test_tagger_spans_still_drop_each_other() -> None:
    got = resolve([tagger("GPE", 0, 5), tagger("STREET_ADDRESS", 0, 12)])
    assert got == [tagger("STREET_ADDRESS", 0, 12)]


def test_tagger_span_over_rule_and_tagger_spans_is_dropped() -> None:
    got = resolve([rule("DATE_TIME", 0, 4), tagger("PERSON", 5, 12), tagger("GPE", 2, 8)])
    assert got == [rule("DATE_TIME", 0, 4), tagger("PERSON", 5, 12)]


def test_short_rest_is_dropped() -> None:
    assert resolve([rule("ZIP_CODE", 2, 7), tagger("GPE", 0, 8)]) == [rule("ZIP_CODE", 2, 7)]

"""The output filter leaks nothing at ANY split of a stream (Hypothesis over every split
point and random multi-chunk splits), and a stream equals the whole answer filtered."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router_model.guard.policy import make_policy
from router_model.guard.stream import OutputFilter, filter_text

POLICY = make_policy("balanced")  # pii: redact, secret: redact
PII = ["4111 1111 1111 1111", "jane.doe@example.com", "+1 (212) 555-0199",
       "GB82 WEST 1234 5698 7654 32", "536-22-1587", "sk-proj-abcDEF1234567890abcdefXYZ",
       "192.168.1.20", "AKIAIOSFODNN7EXAMPLE"]
BLOCKED = "ZEBRA-LAUNCH-CODE"
WORDS = ["the", "answer", "is", "call", "me", "at", "or", "write", "to", "card:", "ok.",
         "123", "2024", "e.g.", "(see", "below)", "key", "=", "\n", "IBAN", "tel."]

texts = st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(PII)), min_size=1,
                 max_size=30).map(" ".join)


def stream(text: str, cuts: list[int], blocked: tuple[str, ...] = ()) -> tuple[str, bool]:
    f = OutputFilter(POLICY, blocked)
    out, last = [], 0
    for c in [*sorted(cuts), len(text)]:
        r = f.feed(text[last:c])
        out.append(r.text)
        last = c
    r = f.finish()
    out.append(r.text)
    return "".join(out), f.stopped


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_every_split_point_leaks_no_pii_and_equals_the_whole(text: str) -> None:
    whole = filter_text(text, POLICY).text
    for value in PII:
        assert value not in whole
    for i in range(len(text) + 1):
        out, _ = stream(text, [i])
        assert out == whole, (i, text)


@settings(max_examples=60, deadline=None)
@given(texts, st.lists(st.integers(0, 400), max_size=25))
def test_random_multi_chunk_splits(text: str, cuts: list[int]) -> None:
    cuts = [c for c in cuts if c <= len(text)]
    out, _ = stream(text, cuts)
    assert out == filter_text(text, POLICY).text
    assert not any(v in out for v in PII)


@settings(max_examples=40, deadline=None)
@given(texts, texts, st.data())
def test_blocked_text_never_leaks_at_any_split(a: str, b: str, data: st.DataObject) -> None:
    text = f"{a} {BLOCKED} {b}"
    for i in range(0, len(text) + 1, 3):
        out, stopped = stream(text, [i], (BLOCKED.lower(),))
        assert stopped and "ZEBRA" not in out and "LAUNCH" not in out


def test_negative_control_a_filter_without_hold_back_leaks() -> None:
    """The property is not vacuous: with no hold-back the split card gets through."""
    text = "pay 4111 1111 1111 1111 now"
    f = OutputFilter(POLICY, hold_back=0, max_word=0)
    out = f.feed(text[:12]).text + f.feed(text[12:]).text + f.finish().text
    assert "4111" in out


def test_pem_block_is_one_placeholder_and_block_policy_stops() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow" + "A" * 300 + "\n-----END RSA PRIVATE KEY-----"
    text = f"here: {pem} done"
    out, stopped = stream(text, [10, 40, 200, 340])
    assert out == "here: [PRIVATE_KEY] done" and not stopped
    f = OutputFilter(make_policy("strict"))
    assert f.feed(text).stopped or f.finish().stopped


def test_bounded_work_per_chunk() -> None:
    """The held-back text never grows with the answer (no rescan of everything)."""
    f = OutputFilter(POLICY)
    for _ in range(2000):
        f.feed("some words of a long answer, ")
        assert len(f._pending) <= f.hold_back + 40


def test_free_form_rules_run_only_where_the_policy_redacts_their_types() -> None:
    text = "We met on Monday, 3 March 2025 in France with the Danish team. " * 3
    # pii: block must not stop a stream on a date or a country it does not redact
    blocking = make_policy("balanced", actions={"pii": "block"})
    out = filter_text(text, blocking)
    assert not out.stopped and out.text == text
    # once DATE_TIME is redacted, the date rule runs on the stream (negative control)
    dates = make_policy("balanced", redact_entities=["DATE_TIME", "CREDIT_CARD"])
    red = filter_text(text, dates).text
    assert "March 2025" not in red and "France" in red

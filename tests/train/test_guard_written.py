"""The written guard data (train/guard_written_*.py): every template expands to finished
texts, the everyday requests carry no override phrase, and the templates of the older
artifacts keep their group ids (so their train / val / test split does not move)."""

from __future__ import annotations

from train import guard_written_attacks as wa
from train.guard_data import written
from train.guard_written_benign import TEMPLATES, expand
from train.guard_written_benign_more import ALL_TEMPLATES
from train.guard_written_everyday import EVERYDAY


def test_every_template_expands_to_finished_texts() -> None:
    for t in (*ALL_TEMPLATES, *EVERYDAY):
        texts = expand(t)
        assert texts, t.text
        assert all("{" not in x and "}" not in x for x in texts), t.text


def test_everyday_requests_carry_no_override_phrase() -> None:
    phrases = [p.lower() for p in wa.OVERRIDES]
    for t in EVERYDAY:
        for x in expand(t):
            assert not any(p in x.lower() for p in phrases), x


def test_older_templates_keep_their_groups() -> None:
    groups = {e.group for e in written() if e.source == "hard_benign"}
    for i, t in enumerate(TEMPLATES):
        assert f"{t.kind}:{i}" in groups
    n = len(ALL_TEMPLATES)
    assert {f"everyday:{n + i}" for i in range(len(EVERYDAY))} <= groups

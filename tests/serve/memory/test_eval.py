"""``lmroute memory eval`` (eval/memory*.py): the recall probe, LoCoMo loading, and a
small synthetic conversation where the memory keeps an old fact the window loses, with
the negative control (answers absent from the conversation score 0 for every method)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.memory import answer_words, recall
from eval.memory_cli import main
from eval.memory_locomo import load
from serve.memory.errors import InvalidInput


def test_recall_probe() -> None:
    assert answer_words("The week before 9 June 2023") == ["week", "before", "9", "june", "2023"]
    assert recall("Adoption agencies", "she researched adoption agencies") == 1.0
    assert recall("mental health", "health matters") == 0.5
    assert recall("the", "anything") is None


def synthetic(path: Path) -> Path:
    turns = [{"speaker": "Ann" if i % 2 == 0 else "Bob", "dia_id": f"D1:{i + 1}",
              "text": f"Filler talk number {i} about the weather and lunch."}
             for i in range(120)]
    turns[3]["text"] = "I adopted a greyhound named Pixel from the shelter in Utrecht."
    doc = [{"sample_id": "syn", "conversation": {
        "speaker_a": "Ann", "speaker_b": "Bob", "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": turns[:60], "session_2_date_time": "10:00 am on 1 June, 2023",
        "session_2": turns[60:]},
        "qa": [{"question": "What is the name of Ann's greyhound?", "answer": "Pixel",
                "category": 4, "evidence": ["D1:4"]},
               {"question": "Where did Ann adopt her dog?", "answer": "Utrecht shelter",
                "category": 1, "evidence": ["D1:4"]},
               {"question": "What is Ann's favourite planet?", "answer": "Zorblax Quintar",
                "category": 2, "evidence": []},
               {"question": "adversarial", "category": 5, "evidence": [],
                "adversarial_answer": "x"}]}]
    path.write_text(json.dumps(doc))
    return path


def test_eval_end_to_end(tmp_path: Path, capsys) -> None:
    data = synthetic(tmp_path / "syn.json")
    code = main(["--data", str(data), "--out", str(tmp_path / "out"), "--budgets", "200,400",
                 "--summarizers", "stub,extractive", "--ablate-retrieval", "bm25"])
    assert code == 0
    m = json.loads(capsys.readouterr().out)
    r = m["recall"]
    for b in ("200", "400"):
        mem = r["memory:extractive"][b]["by_category"]
        assert mem["single-hop"] == 1.0 and mem["multi-hop"] == 1.0  # the old fact is kept
        assert r["window"][b]["by_category"]["single-hop"] == 0.0  # the window lost it
        for method in r:  # negative control: an answer not in the conversation
            if b in r[method]:
                assert r[method][b]["by_category"]["temporal"] == 0.0
        assert r["memory:extractive"][b]["mean_tokens"] <= int(b)
    assert r["full"]["0"]["all"] == pytest.approx(2 / 3, abs=1e-3)
    assert m["build"]["extractive"]["compression_ratio"] > 1
    assert all(Path(p).is_file() for p in m["plots"])


def test_bad_data_is_a_clear_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.json").write_text('{"not": "a list"}')
    assert main(["--data", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")]) == 2
    assert "expected a JSON list" in capsys.readouterr().err
    with pytest.raises(InvalidInput, match="date"):
        doc = json.loads(synthetic(tmp_path / "s.json").read_text())
        doc[0]["conversation"]["session_1_date_time"] = "someday"
        (tmp_path / "s.json").write_text(json.dumps(doc))
        load(tmp_path / "s.json")


def test_locomo_dev_loads(shared_data: Path) -> None:
    convs = load(shared_data / "memory" / "locomo_dev.json")
    assert len(convs) == 3 and sum(len(c.rows) for c in convs) == 1451
    qs = [q for c in convs for q in c.questions if q.category != 5]
    assert len(qs) == 385

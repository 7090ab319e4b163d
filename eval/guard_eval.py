"""``lmroute guard eval``: the guard on a held-out split, beside the TF-IDF baseline.

Scores every text of the split (and the derived ``embedded`` / ``obfuscated`` sets) with
the guard (through ``Guard.check``, so ``micros`` is the whole input check) and with the
baseline (fitted here on the same training split, thresholds by the same validation
rule, ``train.guard_calibrate``). Reports per category and source: AUC, average
precision, recall at 1% FPR (ROC), recall / FPR at the balanced threshold; over-refusal on
the hard benign set; PII span precision / recall / F2 per entity type (rule:
``eval.guard_spans``) beside Presidio's pattern recognizers; latency.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.guard_baseline import TfidfLogReg
from eval.guard_metrics import per_source
from eval.guard_presidio import COMPARABLE, load_presidio
from eval.guard_sets import eval_set
from eval.guard_spans import score_spans
from router_model.guard.rules import DEFAULT_RULES
from router_model.guard.runtime import Guard
from train.guard_calibrate import BENIGN, Scored, category_thresholds
from train.guard_data import CATEGORIES, Example, load_corpus

log = logging.getLogger(__name__)
STRUCTURED = ("CREDIT_CARD", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER")


@dataclass
class GuardEvalConf:
    guard: Path
    data_root: Path
    out_dir: Path
    split: str = "test"
    int8: bool = False
    baseline: bool = True
    presidio: bool = True
    seed: int = 0


@dataclass
class Run:
    """One scorer's outputs on the evaluation texts: scores (n, C), micros (n,),
    thresholds (category -> balanced threshold), spans per text (guard only)."""

    scores: np.ndarray
    micros: np.ndarray
    thresholds: dict[str, float]
    spans: list[list[Any]] | None = None


def run_guard(guard: Guard, texts: list[str]) -> Run:
    scores, micros, spans = [], [], []
    for t in tqdm(texts, desc="guard", unit="text", mininterval=2.0):
        d = guard.check(t, rules=DEFAULT_RULES)  # every entity type, for the span scores
        scores.append([d.scores[c] for c in CATEGORIES])
        micros.append(d.micros)
        spans.append(d.pii)
    th = {c: guard.threshold(c, "balanced") for c in CATEGORIES}
    return Run(np.array(scores), np.array(micros), th, spans)


def run_baseline(train: list[Example], val: list[Example], texts: list[str],
                 fprs: dict[str, float], hard: dict[str, dict[str, float]]) -> Run:
    lab = np.array([e.labels for e in train])
    vlab = np.array([e.labels for e in val])
    model = TfidfLogReg().fit([e.text for e in train], lab, [e.text for e in val], vlab)
    vs = model.predict_scores([e.text for e in val])
    th = category_thresholds(Scored(vs, [e.source for e in val], vlab), fprs, hard)
    scores = model.predict_scores(texts)
    micros = []
    for t in texts[:: max(len(texts) // 300, 1)]:  # one text per call, as the guard
        t0 = time.perf_counter_ns()
        model.predict_scores([t])
        micros.append((time.perf_counter_ns() - t0) / 1e3)
    return Run(scores, np.array(micros), {c: th[c]["balanced"] for c in CATEGORIES})


def detection(run: Run, ev: list[Example]) -> dict[str, Any]:
    labels = np.array([e.labels for e in ev])
    src = [e.source for e in ev]
    return {c: per_source(run.scores[:, j], labels[:, j], src, run.thresholds[c], BENIGN)
            for j, c in enumerate(CATEGORIES)}


def over_refusal(run: Run, ev: list[Example]) -> dict[str, Any]:
    """Share of hard benign texts flagged, by the kind of trigger words they use."""
    out: dict[str, Any] = {}
    for kind, j in (("injection", 0), ("harmful", 1)):
        idx = [i for i, e in enumerate(ev) if e.source == "hard_benign"
               and e.group.startswith(f"{kind}:")]
        flag = run.scores[idx, j] >= run.thresholds[CATEGORIES[j]]
        out[f"{kind}_words"] = {"n": len(idx), "flagged_by_own_category": float(flag.mean())
                                if idx else float("nan")}
    idx = [i for i, e in enumerate(ev) if e.source == "hard_benign"]
    out["any_category"] = {"n": len(idx), "flagged": _flagged_share(run, idx)}
    # everyday requests (no trigger word: train/guard_written_everyday.py), flagged by any
    every = [i for i, e in enumerate(ev) if e.source == "hard_benign"
             and e.group.startswith("everyday:")]
    out["everyday_requests"] = {"n": len(every), "flagged": _flagged_share(run, every)}
    return out


def _flagged_share(run: Run, idx: list[int]) -> float:
    """Share of rows ``idx`` over the balanced threshold of any category (0 if none)."""
    anyflag = np.zeros(len(idx), dtype=bool)
    for j, c in enumerate(CATEGORIES):
        anyflag |= run.scores[idx, j] >= run.thresholds[c]
    return float(anyflag.mean()) if idx else 0.0


def pii_metrics(guard_run: Run, ev: list[Example], use_presidio: bool) -> dict[str, Any]:
    idx = [i for i, e in enumerate(ev) if e.source == "presidio"]
    assert guard_run.spans is not None
    docs = [(guard_run.spans[i], list(ev[i].spans)) for i in idx]
    out: dict[str, Any] = {
        "guard": {k: v.as_dict() for k, v in score_spans(docs).items()},
        "guard_type_agnostic": score_spans(docs, type_agnostic=True)["ALL"].as_dict(),
        "guard_comparable": {k: v.as_dict() for k, v in score_spans(docs, COMPARABLE).items()},
        "n_texts": len(idx), "overlap_rule": "same entity type and character IoU >= 0.5"}
    benign = [i for i, e in enumerate(ev) if e.source in ("routerbench", "routellm", "dcrouter")]
    types: dict[str, int] = {}
    for i in benign:
        for s in guard_run.spans[i]:
            types[s.entity_type] = types.get(s.entity_type, 0) + 1
    out["spans_on_benign_traffic"] = {"n_texts": len(benign), "by_type": types}
    if use_presidio:
        out["presidio"] = presidio_metrics([ev[i] for i in idx])
    return out


def presidio_metrics(pii: list[Example]) -> dict[str, Any]:
    analyzer, how = load_presidio()
    if analyzer is None:
        return {"available": False, "why": how}
    docs, micros = [], []
    for e in tqdm(pii, desc="presidio", unit="text", mininterval=2.0):
        t0 = time.perf_counter_ns()
        pred = analyzer.analyze(e.text)
        micros.append((time.perf_counter_ns() - t0) / 1e3)
        docs.append((pred, list(e.spans)))
    return {"available": True, "how": how, "comparable_types": list(COMPARABLE),
            "scores": {k: v.as_dict() for k, v in score_spans(docs, COMPARABLE).items()},
            "all_types": score_spans(docs)["ALL"].as_dict(),
            "micros_p50": float(np.percentile(micros, 50)),
            "micros_p99": float(np.percentile(micros, 99))}


def latency(run: Run) -> dict[str, float]:
    return {"p50_us": float(np.percentile(run.micros, 50)),
            "p99_us": float(np.percentile(run.micros, 99)), "n": len(run.micros)}


def run_guard_eval(conf: GuardEvalConf) -> dict[str, Any]:
    guard = Guard.load(conf.guard, int8=conf.int8)
    split_conf = guard.manifest.get("data", {})
    corpus = load_corpus(conf.data_root, split_conf.get("val", 0.15),
                         split_conf.get("test", 0.15), split_conf.get("split_seed", 0))
    ev = eval_set(corpus, conf.split, conf.seed)
    texts = [e.text for e in ev]
    g = run_guard(guard, texts)
    m: dict[str, Any] = {"split": conf.split, "n_texts": len(ev), "guard_dir": str(conf.guard),
                         "int8": conf.int8, "thresholds": guard.thresholds,
                         "threshold_rule": guard.manifest.get("threshold_rule"),
                         "counts": _counts(ev),
                         "guard": {"detection": detection(g, ev), "over_refusal":
                                   over_refusal(g, ev), "latency": latency(g)},
                         "pii": pii_metrics(g, ev, conf.presidio)}
    if conf.baseline:
        rule = guard.manifest.get("threshold_rule", {})
        fprs = {op: v["target_fpr"] for op, v in rule.get("categories", {}).items()} \
            or {"balanced": 0.01}
        hard = rule.get("hard_sets", {}).get("target_fpr", {})
        train = [e for e in corpus if e.split == "train"]
        val = [e for e in corpus if e.split == "val"]
        b = run_baseline(train, val, texts, fprs, hard)
        m["baseline"] = {"name": "char 2-5-gram TF-IDF + logistic regression",
                         "thresholds": b.thresholds, "detection": detection(b, ev),
                         "over_refusal": over_refusal(b, ev), "latency": latency(b)}
    m["_scores"] = {"guard": g.scores.tolist(), "baseline": b.scores.tolist()
                    if conf.baseline else None, "labels": [list(e.labels) for e in ev],
                    "sources": [e.source for e in ev]}
    return m


def _counts(ev: list[Example]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in ev:
        out[e.source] = out.get(e.source, 0) + 1
    return out

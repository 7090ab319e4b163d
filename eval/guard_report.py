"""The guard evaluation report (Markdown + self-contained HTML, like ``lmroute eval``'s;
rendered by ``eval.report``'s block writers)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from eval.report import Block, to_html, to_markdown
from train.guard_data import CATEGORIES


def _p(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _f(x: float | None, nd: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _winner(g: float, b: float | None, higher: bool = True) -> str:
    if b is None or math.isnan(g) or math.isnan(b):
        return ""
    if abs(g - b) < 1e-9:
        return "tie"
    return "guard" if (g > b) == higher else "BASELINE"


def headline(m: dict[str, Any]) -> dict[str, Any]:
    """The acceptance figures (guard, baseline) in one flat dict."""
    g, b = m["guard"], m.get("baseline")
    inj, harm = g["detection"]["injection"]["ALL"], g["detection"]["harmful"]["ALL"]
    pii = m["pii"]["guard"]
    out = {"injection_recall_at_1pct_fpr": inj["recall_at_1pct_fpr"], "injection_auc": inj["auc"],
           "injection_recall_at_threshold": inj["recall_at_threshold"],
           "hard_benign_over_refusal_injection":
               g["over_refusal"]["injection_words"]["flagged_by_own_category"],
           "hard_benign_over_refusal_any": g["over_refusal"]["any_category"]["flagged"],
           "harmful_recall_at_threshold": harm["recall_at_threshold"],
           "harmful_over_refusal_trigger_words":
               g["over_refusal"]["harmful_words"]["flagged_by_own_category"],
           "pii_f2": pii["ALL"]["f2"], "latency_p50_us": g["latency"]["p50_us"],
           "latency_p99_us": g["latency"]["p99_us"]}
    out.update({f"precision_{t}": pii[t]["precision"] for t in
                ("CREDIT_CARD", "IBAN_CODE", "EMAIL_ADDRESS", "PHONE_NUMBER") if t in pii})
    if b:
        bi = b["detection"]["injection"]["ALL"]
        out.update({"baseline_injection_recall_at_1pct_fpr": bi["recall_at_1pct_fpr"],
                    "baseline_injection_auc": bi["auc"],
                    "baseline_hard_benign_over_refusal_injection":
                        b["over_refusal"]["injection_words"]["flagged_by_own_category"],
                    "baseline_harmful_recall_at_threshold":
                        b["detection"]["harmful"]["ALL"]["recall_at_threshold"]})
    return out


def _source_table(m: dict[str, Any], cat: str) -> Block:
    g = m["guard"]["detection"][cat]
    b = (m.get("baseline") or {}).get("detection", {}).get(cat, {})
    rows = []
    for src, row in g.items():
        if "auc" not in row:
            continue
        br = b.get(src, {})
        rows.append([src, str(row["n_pos"]), _f(row["auc"], 4), _f(br.get("auc"), 4),
                     _p(row["recall_at_1pct_fpr"]), _p(br.get("recall_at_1pct_fpr")),
                     _p(row["recall_at_threshold"]), _p(br.get("recall_at_threshold")),
                     _winner(row["recall_at_1pct_fpr"], br.get("recall_at_1pct_fpr"))])
    return Block("table", header=["positive source", "n", "AUC guard", "AUC baseline",
                                  "recall@1%FPR guard", "baseline", "recall@threshold guard",
                                  "baseline", "better at 1% FPR"], rows=rows)


def _benign_table(m: dict[str, Any]) -> Block:
    rows = []
    for cat in CATEGORIES:
        g = m["guard"]["detection"][cat]
        b = (m.get("baseline") or {}).get("detection", {}).get(cat, {})
        for src, row in g.items():
            if "fpr_at_threshold" in row:
                bf = b.get(src, {}).get("fpr_at_threshold")
                rows.append([f"{cat} / {src}", str(row["n_neg"]), _p(row["fpr_at_threshold"]),
                             _p(bf), _winner(row["fpr_at_threshold"], bf, higher=False)])
    return Block("table", header=["category / benign source", "n", "flagged: guard",
                                  "flagged: baseline", "lower"], rows=rows)


def _pii_table(m: dict[str, Any]) -> Block:
    """Per entity type; ``ALL`` is every type for both systems, ``ALL comparable`` only the
    types Presidio's patterns cover (for both)."""
    g = m["pii"]["guard"]
    pr = m["pii"].get("presidio") or {}
    pres = pr.get("scores", {}) if pr.get("available", True) else {}
    rows = []
    for t in [*sorted(k for k in g if k != "ALL"), "ALL"]:
        r = g[t]
        p = (pr.get("all_types") if pres else None) if t == "ALL" else pres.get(t)
        rows.append([t, str(r["tp"] + r["fn"]), _f(r["precision"]), _f(r["recall"]),
                     _f(r["f2"]), _f(p["f2"]) if p else ""])
    comp = m["pii"].get("guard_comparable", {}).get("ALL")
    if comp:
        p = pres.get("ALL")
        rows.append(["ALL comparable", str(comp["tp"] + comp["fn"]), _f(comp["precision"]),
                     _f(comp["recall"]), _f(comp["f2"]), _f(p["f2"]) if p else ""])
    return Block("table", header=["entity type", "gold spans", "precision", "recall", "F2",
                                  "Presidio patterns F2"], rows=rows)


def blocks(m: dict[str, Any], figures: list[Path]) -> list[Block]:
    h = headline(m)
    th = ", ".join(f"{c} {m['thresholds'][c]['balanced']:.4f}" for c in CATEGORIES)
    out = [Block("h1", f"lmroute guard evaluation ({m['split']} split, {m['n_texts']} texts)"),
           Block("p", f"Guard `{m['guard_dir']}`{' (int8)' if m['int8'] else ''}; thresholds "
                      "chosen on the validation split (manifest `threshold_rule`); "
                      f"balanced thresholds: {th}."),
           Block("h2", "Acceptance figures"),
           Block("table", header=["figure", "guard", "baseline"], rows=[
               [k, _f(v, 4), _f(h.get(f"baseline_{k}"), 4)] for k, v in h.items()
               if not k.startswith("baseline_")])]
    for cat in CATEGORIES:
        out += [Block("h2", f"{cat}: per positive source (vs pooled held-out benign)"),
                _source_table(m, cat)]
    out += [Block("h2", "Over-refusal: benign sources at the balanced threshold"),
            _benign_table(m),
            Block("p", f"Hard benign set (written trigger-word prompts): "
                       f"{_p(m['guard']['over_refusal']['any_category']['flagged'])} flagged by "
                       "any category (guard)."),
            Block("h2", "PII spans (held-out Presidio templates)"),
            Block("p", f"Overlap rule: {m['pii']['overlap_rule']}; each gold span matched once."),
            _pii_table(m)]
    pres = m["pii"].get("presidio") or {}
    out.append(Block("p", f"Presidio: {pres.get('how') or pres.get('why', 'not run')}."))
    out += [Block("h2", "Figures"), *[Block("img", str(p)) for p in figures]]
    return out


def write(m: dict[str, Any], figures: list[Path], out_dir: Path) -> tuple[Path, Path]:
    bs = blocks(m, figures)
    md, page = out_dir / "report.md", out_dir / "report.html"
    md.write_text(to_markdown(bs))
    page.write_text(to_html(bs).replace("lmroute evaluation", "lmroute guard evaluation"))
    return md, page

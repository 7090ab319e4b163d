"""The suite's report: ``suite.json``, ``report.md`` and a self-contained ``report.html``
(the same blocks as ``lmroute eval``'s report) with PNG plots, under ``out_dir``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.report import Block, to_html, to_markdown
from eval.suite import plots
from eval.suite.run import SuiteResult
from eval.suite.summary import FIGURES, ROUTER, headline, summarize

LOWER_IS_BETTER = ("cost_at_95", "cpt50", "cpt80")


@dataclass
class ReportFiles:
    json: Path
    markdown: Path
    html: Path
    figures: list[Path]
    headline: dict[str, Any]


def _fmt(s: dict[str, Any] | None, pct: bool = False) -> str:
    if s is None or s.get("mean") is None:
        return "never"
    f = (lambda x: "never" if x is None else f"{100 * x:.1f}%") if pct else \
        (lambda x: "n/a" if x is None else f"{x:.3f}")
    return f"{f(s['mean'])} [{f(s['ci_low'])}, {f(s['ci_high'])}]"


def _table(block: dict[str, Any], figs: tuple[str, ...]) -> Block:
    methods = list(block["figures"][figs[0]])
    rows = []
    for m in methods:
        row = [f"**{m}**" if m == ROUTER else m]
        for fig in figs:
            s = block["figures"].get(fig, {}).get(m)
            row.append(_fmt(s, pct=fig in ("cost_at_95", "cpt50", "cpt80")))
        rows.append(row)
    header = ["method", *[f"{f} (lower is better)" if f in LOWER_IS_BETTER else f
                          for f in figs]]
    return Block("table", header=header, rows=rows)


def _diff_table(block: dict[str, Any], fig: str) -> Block:
    rows = []
    for r, diffs in block["diffs"].get(fig, {}).items():
        for b, d in diffs.items():
            rows.append([r, b, f"{d['mean']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"
                         if d["mean"] is not None else "n/a"])
    return Block("table", header=["router", "minus", f"paired {fig} difference (95% CI)"],
                 rows=rows)


def _blocks(summary: dict[str, Any], figures: dict[str, Path]) -> list[Block]:
    s = summary["settings"]
    bs = [Block("h1", "lmroute routing-quality suite"),
          Block("p", f"{s['n_splits']} seeded splits (seed {s['seed']}, part "
                f"`{s['part']}`): split k tests fold k of a task-stratified partition "
                "(identical prompts grouped); methods tuned on a validation carve of the "
                "rest (Brier score), refitted on train + validation. Intervals: 95% "
                f"percentile bootstrap ({s['n_boot']} resamples per split) of the mean "
                "over splits; differences paired. AIQ integrates the hull over the "
                "cost range of the single models on the same test requests; cost at 95% "
                "is `eval.curves.cost_to_reach` (least hull cost reaching 95% of the "
                "reference model's quality, as a fraction of its cost).")]
    for key, figs in FIGURES.items():
        block = summary["results"].get(key)
        if block is None:
            continue
        facts = summary["datasets"].get(key.split("/")[0], {})
        bs += [Block("h2", key), Block("p", f"{facts.get('n_requests')} requests, "
                     f"{len(facts.get('models', []))} models, reference "
                     f"{facts.get('reference')}; {facts.get('n_dropped')} incomplete "
                     "requests dropped."), _table(block, figs), _diff_table(block, figs[0])]
        bs += [Block("img", str(p)) for k, p in figures.items() if k.startswith(key)]
    return bs


def write_report(res: SuiteResult, out_dir: Path,
                 extra: list[Block] | None = None) -> ReportFiles:
    """Write everything; ``extra`` blocks (cascade, onboarding) go at the end."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(res)
    figs: dict[str, Path] = {}
    for key, figset in FIGURES.items():
        block = summary["results"].get(key)
        if block is None:
            continue
        tag = key.replace("/", "_")
        figs[f"{key}/bars"] = plots.figure_bars(block["figures"][figset[0]], figset[0],
                                                f"{key}: {figset[0]} (mean over splits)",
                                                out_dir / f"{tag}_{figset[0]}.png")
        ds = key.split("/")[0]
        if ds in res.curves:
            figs[f"{key}/curve"] = plots.cost_quality(res.curves[ds], f"{ds}: split 0",
                                                      out_dir / f"{tag}_cost_quality.png")
    head = headline(summary)
    summary["headline"] = head
    (out_dir / "suite.json").write_text(json.dumps(summary, indent=2))
    from eval.suite.extras import agree_blocks, cascade_blocks, onboard_blocks

    summary["cascade"] = res.cascade
    summary["cascade_agree"] = res.cascade_agree
    summary["onboard"] = res.onboard
    (out_dir / "suite.json").write_text(json.dumps(summary, indent=2, default=str))
    bs = _blocks(summary, figs) + cascade_blocks(res) + agree_blocks(res) + \
        onboard_blocks(res, out_dir) + \
        (extra or [])
    md, page = out_dir / "report.md", out_dir / "report.html"
    md.write_text(to_markdown(bs))
    page.write_text(to_html(bs))
    return ReportFiles(out_dir / "suite.json", md, page, list(figs.values()), head)

"""The evaluation report: Markdown and a self-contained HTML page (PNGs inlined as
base64), both rendered from one list of blocks built from metrics.json."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORDER = ("router", "oracle", "knn", "task_prior", "cheapest", "random", "baseline_router")


@dataclass
class Block:
    """One report element: kind in {h1, h2, p, table, img}."""

    kind: str
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _f(x: float | None, nd: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _ci(s: dict[str, float], nd: int = 3) -> str:
    return f"{s['mean']:.{nd}f} [{s['ci_low']:.{nd}f}, {s['ci_high']:.{nd}f}]"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _aiq(p: dict[str, Any]) -> str:
    """AIQ with its bootstrap interval when there is one."""
    ci = p.get("aiq_ci") or [None, None]
    if p.get("aiq") is None or ci[0] is None:
        return _f(p.get("aiq"))
    return f"{p['aiq']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _usd(x: float | None) -> str:
    return "n/a" if x is None else f"${x:.2e}"


def _ordered(m: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    pols = {"router": m["router"], **m["baselines"]}
    first = [(n, pols[n]) for n in ORDER if n in pols]
    return first + sorted((n, p) for n, p in pols.items() if n not in ORDER)


def _policy_table(m: dict[str, Any]) -> Block:
    header = [
        "policy",
        "quality [95% CI]",
        "cost USD",
        "latency ms p50 / p95",
        "energy J",
        "utility [95% CI]",
        "AIQ",
        "cost at 95% of best",
    ]
    rows = []
    for name, p in _ordered(m):
        at = p.get("cost_at_95pct_best", {}).get("fraction")
        rows.append(
            [
                name,
                _ci(p["quality"]),
                _usd(p["cost_usd"]["mean"]),
                f"{p['latency_ms']['p50']:.0f} / {p['latency_ms']['p95']:.0f}",
                f"{p['energy_j']['mean']:.0f}",
                _ci(p["utility"], 4),
                _aiq(p),
                "n/a" if at is None else f"{100 * at:.1f}%",
            ]
        )
    return Block("table", header=header, rows=rows)


def _headline(m: dict[str, Any]) -> str:
    """Zero router, reference model, cost at 95% of its quality, decision latency."""
    ref, at, lat = m["reference"], m["router"]["cost_at_95pct_best"], m["router"].get("decision_us")
    if at["fraction"] is None:
        reach = "never reached by the router"
    else:
        reach = (
            f"the router reaches it at {100 * at['fraction']:.1f}% of its cost on the "
            f"hull (raw sweep point: {_pct(at['raw_curve_fraction'])})"
        )
    diffs = "; ".join(
        f"vs {n} {d['mean']:+.3f} [{_f(d['ci_low'])}, {_f(d['ci_high'])}]"
        for n, d in m["router"].get("aiq_diff", {}).items()
    )
    text = (
        f"Zero router (hull of the single models) AIQ: {_aiq(m['zero_router'])}. "
        + (f"Router AIQ minus baseline AIQ (paired 95% CI): {diffs}. " if diffs else "")
        + f"Reference (best single model): {ref['model']} (quality {ref['quality']:.3f}, "
        f"{_usd(ref['cost_usd'])} per request). 95% of its quality "
        f"({at['target_quality']:.3f}): {reach}."
    )
    if lat:
        text += (
            f" Decision latency p50 {lat['p50']:.0f} us, p99 {lat['p99']:.0f} us "
            f"(n={lat['n']:.0f}, one request at a time)."
        )
    return text


def _full_blocks(m: dict[str, Any]) -> list[Block]:
    out = [_policy_table(m), Block("p", _headline(m))]
    if "two_model" in m:
        tm = m["two_model"]
        rows = [
            [n, _f(v["apgr"]), _f(v["cpt_50"]), _f(v["cpt_80"])]
            for n, v in tm.items()
            if isinstance(v, dict)
        ]
        out += [
            Block("h2", f"Strong/weak routing ({tm['strong']} vs {tm['weak']})"),
            Block("table", header=["policy", "APGR", "CPT(50%)", "CPT(80%)"], rows=rows),
        ]
    out.append(Block("h2", "Per task tag"))
    for task, sl in m.get("slices", {}).items():
        out += [
            Block(
                "p",
                f"**{task}** ({sl['n_requests']} requests, reference "
                f"{sl['reference']['model']}, zero router AIQ "
                f"{_f(sl['zero_router']['aiq'])})",
            ),
            _policy_table(sl),
        ]
    return out


def _bandit_blocks(m: dict[str, Any]) -> list[Block]:
    rows = []
    for name, p in _ordered(m):
        o = p["ope"]
        rows.append(
            [name, *(_ci(o[e], 4) for e in ("dm", "ips", "snips", "dr")), f"{o['ess']:.0f}"]
        )
    out = [
        Block(
            "p",
            f"Logging policy: {m.get('logging_policy') or 'unknown'}; on-policy "
            f"value {m['ope']['logged_value']:.4f}; min propensity "
            f"{m['ope']['min_propensity']:.3g}.",
        ),
        Block("table", header=["policy", "DM", "IPS", "SNIPS", "DR", "ESS"], rows=rows),
    ]
    warns = m["ope"]["warnings"]
    out += [Block("p", "Warnings: " + ("; ".join(warns) if warns else "none"))]
    return out


def blocks(m: dict[str, Any], figures: list[Path]) -> list[Block]:
    """The report as blocks."""
    head = (
        f"Router `{m.get('router_path', '?')}` on {m['n_requests']} held-out requests "
        f"({m.get('log_kind')}; {m.get('n_dropped', 0)} dropped for missing outcomes); "
        f"models: {', '.join(m.get('models', []))}; weights: {m.get('weights')}."
    )
    out = [Block("h1", "lmroute evaluation"), Block("p", head)]
    if "gate" in m:
        out.append(Block("p", f"**Deploy gate**: {m['gate']['reason']}"))
    out += _bandit_blocks(m) if m.get("log_kind") == "bandit" else _full_blocks(m)
    out.append(Block("h2", "Figures"))
    out += [Block("img", str(p)) for p in figures]
    return out


def to_markdown(bs: list[Block]) -> str:
    lines: list[str] = []
    for b in bs:
        if b.kind in ("h1", "h2"):
            lines += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "table":
            lines += ["| " + " | ".join(b.header) + " |", "|" + "---|" * len(b.header)]
            lines += ["| " + " | ".join(r) + " |" for r in b.rows] + [""]
        elif b.kind == "img":
            lines += [f"![{Path(b.text).stem}]({Path(b.text).name})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escape, then render **bold** and `code` spans."""
    parts = html.escape(text).split("**")
    s = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = s.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html(bs: list[Block]) -> str:
    body = []
    for b in bs:
        if b.kind in ("h1", "h2"):
            body.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "table":
            th = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
            trs = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in b.rows
            )
            body.append(f"<table><tr>{th}</tr>{trs}</table>")
        elif b.kind == "img":
            data = base64.b64encode(Path(b.text).read_bytes()).decode()
            body.append(
                f'<img alt="{html.escape(Path(b.text).stem)}" src="data:image/png;base64,{data}">'
            )
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child{text-align:left}img{max-width:100%;display:block;margin:1em 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>lmroute evaluation"
        f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>"
    )


def write(m: dict[str, Any], figures: list[Path], out_dir: Path) -> tuple[Path, Path]:
    """report.md and report.html in ``out_dir``."""
    bs = blocks(m, figures)
    md, page = out_dir / "report.md", out_dir / "report.html"
    md.write_text(to_markdown(bs))
    page.write_text(to_html(bs))
    return md, page

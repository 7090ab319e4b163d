# ruff: noqa: E501  (the strings are notebook cells, kept one statement per line)
"""Generate the two notebooks (valid nbformat v4, no outputs). Run from the repo root:

    .venv/bin/python notebooks/make_notebooks.py

They only call the packages; parameters come from environment variables so the test
(tests/notebooks/test_notebooks.py) can run them headless on a small slice.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """import os, sys
from pathlib import Path
ROOT = Path.cwd() if (Path.cwd() / "eval").is_dir() else Path.cwd().parent
sys.path.insert(0, str(ROOT))
import numpy as np, pandas as pd, matplotlib.pyplot as plt
%matplotlib inline"""

EXPLORE = [
    new_markdown_cell(
        "# 01 · Explore the converted logs\n\n"
        "Per-model quality / cost / latency / energy, per-task quality, and what "
        "an oracle router could gain. Parameters (environment variables): "
        "`LMROUTE_NB_LOG` (a canonical parquet log; default: convert the shared "
        "RouterBench CSVs), `LMROUTE_NB_N` (first N requests; 0 = all)."
    ),
    new_code_cell(SETUP),
    new_code_cell("""from data.convert import convert
from data.io import read_frame
from data.locate import find_shared_data
from data.matrix import FullInfo
from data.summary import summarize

LOG = os.environ.get("LMROUTE_NB_LOG")
N = int(os.environ.get("LMROUTE_NB_N", "0"))
if LOG:
    df = read_frame(LOG)
else:
    df = convert("routerbench", [find_shared_data() / "routerbench"]).frame
if N:
    keep = df["request_id"].drop_duplicates().iloc[:N]
    df = df[df["request_id"].isin(keep)]
print(f"{len(df):,} rows, {df['request_id'].nunique():,} requests, {df['model'].nunique()} models")"""),
    new_markdown_cell("## Per-model outcomes"),
    new_code_cell("""s = summarize(df, LOG or "routerbench (shared)")
s.per_model.style.format({"quality": "{:.3f}", "cost_usd": "{:.2e}", "latency_ms": "{:.0f}", "energy_j": "{:.1f}"})"""),
    new_code_cell("""pm = s.per_model
fig, ax = plt.subplots(figsize=(8, 5))
ax.scatter(pm["cost_usd"], pm["quality"])
for name, row in pm.iterrows():
    ax.annotate(name.split("/")[-1], (row["cost_usd"], row["quality"]), fontsize=8)
ax.set_xscale("log"); ax.set_xlabel("mean cost per request (USD)"); ax.set_ylabel("mean quality")
ax.set_title("Single models"); ax.grid(alpha=0.3)"""),
    new_markdown_cell("## Quality per task tag"),
    new_code_cell("""per_task = df.pivot_table(index="model", columns="task", values="quality", aggfunc="mean")
per_task.round(3)"""),
    new_code_cell(
        """per_task.plot.barh(figsize=(8, 6)); plt.xlabel("mean quality"); plt.tight_layout()"""
    ),
    new_markdown_cell("## Headroom: best single model vs per-request oracle"),
    new_code_cell("""full = FullInfo.from_frame(df)
q = np.nan_to_num(full.quality)
best = int(np.argmax(q.mean(axis=0)))
print(f"best single model: {full.models[best]} quality {q[:, best].mean():.3f}")
print(f"oracle (any model right): {q.max(axis=1).mean():.3f}")
print(f"requests no model answers: {(q.max(axis=1) == 0).mean():.1%}")
print(f"requests the cheapest model already gets right: {q[:, int(np.nanargmin(np.nanmean(full.cost_usd, axis=0)))].mean():.1%}")"""),
    new_code_cell("""plt.hist(df.drop_duplicates("request_id")["prompt_tokens"], bins=40)
plt.xlabel("prompt tokens"); plt.ylabel("requests"); plt.title("Prompt length (few-shot prefixes)");"""),
]

EVALUATE = [
    new_markdown_cell(
        "# 02 · Evaluate a router\n\n"
        "Reads the metrics of an `lmroute eval` run and re-runs the evaluation "
        "functions on a slice. Parameters (environment variables): "
        "`LMROUTE_NB_ROUTER` (artifact dir, default `runs/demo/router`), "
        "`LMROUTE_NB_LOG` (held-out canonical log, default "
        "`runs/demo/splits/test.parquet`), `LMROUTE_NB_METRICS` (default "
        "`runs/demo/eval/metrics.json`; skipped when absent), `LMROUTE_NB_N` "
        "(slice size, default 200)."
    ),
    new_code_cell(SETUP),
    new_code_cell("""import json, tempfile
from IPython.display import Image, display
from data.io import read_frame
from data.matrix import FullInfo
from eval import plots
from eval.candidates import PolicyCandidate, RouterCandidate
from eval.full_info import EvalSettings, decide, evaluate
from eval.pipeline import w_cost_grid
from eval.replay import drop_incomplete
from eval.summary import summary_text
from router_model.policies import make_policy
import router_model.policies.baselines
from router_model.reward import RewardWeights
from router_model.runtime import Router

ROUTER = os.environ.get("LMROUTE_NB_ROUTER", str(ROOT / "runs/demo/router"))
LOG = os.environ.get("LMROUTE_NB_LOG", str(ROOT / "runs/demo/splits/test.parquet"))
METRICS = Path(os.environ.get("LMROUTE_NB_METRICS", str(ROOT / "runs/demo/eval/metrics.json")))
N = int(os.environ.get("LMROUTE_NB_N", "200"))"""),
    new_markdown_cell("## The full run's metrics (if `lmroute eval` has run)"),
    new_code_cell("""if METRICS.is_file():
    m = json.loads(METRICS.read_text())
    print(summary_text(m))
    rows = {name: {k: p[k]["mean"] for k in ("quality", "cost_usd", "utility")} | {"aiq": p.get("aiq")}
            for name, p in {"router": m["router"], **m["baselines"]}.items()}
    display(pd.DataFrame(rows).T)
else:
    print(f"no metrics at {METRICS}: run `lmroute eval` first (section skipped)")"""),
    new_markdown_cell("## Re-run the evaluation functions on a slice"),
    new_code_cell("""router = Router.load(ROUTER)
full, dropped = drop_incomplete(FullInfo.from_frame(read_frame(LOG), models=router.models))
full = full.subset(np.arange(min(N, len(full))))
cand = RouterCandidate(router, list(full.queries))
X = cand.embed()
oracle = PolicyCandidate(make_policy("oracle").fit(X, full), X, full.tasks)
rand = PolicyCandidate(make_policy("random", seed=0).fit(X, full), X, full.tasks)
s = EvalSettings(RewardWeights(), w_cost_grid(full, 15, None, None), n_boot=300)
res = evaluate(full, decide({"router": cand, "oracle": oracle, "random": rand}, ["router", "oracle"], s, len(full)), s)
print(f"{len(full)} requests ({dropped} dropped): router AIQ {res['router']['aiq']:.3f}, "
      f"zero router {res['zero_router']['aiq']:.3f}, oracle {res['baselines']['oracle']['aiq']:.3f}")
res["router"]["cost_at_95pct_best"]"""),
    new_code_cell(
        """pd.DataFrame(res["router"]["curve"]).style.format({"w_cost": "{:.3g}", "cost_usd": "{:.2e}", "quality": "{:.3f}"})"""
    ),
    new_code_cell("""png = Path(tempfile.mkdtemp()) / "cost_quality.png"
display(Image(filename=str(plots.cost_quality(res, png, title=f"Slice of {len(full)} requests"))))"""),
]


def write(cells: list, name: str) -> Path:
    for i, cell in enumerate(cells):  # stable ids: regenerating gives identical files
        cell["id"] = f"cell-{i:02d}"
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(nb)
    path = HERE / name
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    for p in (write(EXPLORE, "01_explore_logs.ipynb"), write(EVALUATE, "02_evaluate_router.ipynb")):
        print(p)

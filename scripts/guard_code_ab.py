"""Interleaved A/B of the guard CODE: ``Guard.check`` of one artifact under a base git
revision and under the working tree, in one run.

Two worker processes (the base revision checked out with ``git worktree`` into a temporary
folder, and this tree) load the same artifact and the same bench inputs
(``router_model.guard.bench.bench_inputs``, 256 B and 2 KB); the driver sends each text to
both in alternating order, so background load hits both alike. Prints JSON per size: p50 /
p99 microseconds of each and the p50 ratio new / base, and how many decisions differ
(verdict, categories, spans, redacted text or a score beyond 1e-6).

    python -m scripts.guard_code_ab --base 2873176 runs/guard/v11 [--reps 2]

(``scripts.guard_speed_ab`` compares two artifacts under the same code.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = (256, 2048)
N_TEXTS = 300
WORKER = r'''
import json, sys, time
sys.path.insert(0, ".")
from router_model.guard.bench import bench_inputs
from router_model.guard.runtime import Guard
g = Guard.load(sys.argv[1])
texts = {s: bench_inputs(s, int(sys.argv[2])) for s in map(int, sys.argv[3].split(","))}
for s in texts:
    for t in texts[s][:30]:
        g.check(t)
print("ready", flush=True)
for line in sys.stdin:
    s, i = map(int, line.split())
    a = time.perf_counter_ns(); d = g.check(texts[s][i]); b = time.perf_counter_ns()
    print(json.dumps([(b - a) / 1e3, d.verdict, d.categories,
                      [[x.entity_type, x.start, x.end] for x in d.pii], d.redacted,
                      {k: round(v, 6) for k, v in d.scores.items()}]), flush=True)
'''


def _start(tree: Path, artifact: str) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-c", WORKER, artifact, str(N_TEXTS),
                          ",".join(map(str, SIZES))], cwd=tree, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert p.stdout is not None
    if p.stdout.readline().strip() != "ready":
        raise SystemExit(f"guard_code_ab: the worker in {tree} did not start")
    return p


def _ask(p: subprocess.Popen[str], size: int, i: int) -> list[Any]:
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(f"{size} {i}\n")
    p.stdin.flush()
    return list(json.loads(p.stdout.readline()))


def compare(base_tree: Path, artifact: str, reps: int) -> list[dict[str, Any]]:
    procs = {"base": _start(base_tree, artifact), "new": _start(ROOT, artifact)}
    micros: dict[tuple[int, str], list[float]] = {}
    differ = 0
    for size in SIZES:
        for _ in range(reps):
            for i in range(N_TEXTS):
                order = ("base", "new") if i % 2 else ("new", "base")
                out = {k: _ask(procs[k], size, i) for k in order}
                for k, o in out.items():
                    micros.setdefault((size, k), []).append(o[0])
                differ += out["base"][1:] != out["new"][1:]
    for p in procs.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    rows: list[dict[str, Any]] = []
    for size in SIZES:
        b, n = np.array(micros[(size, "base")]), np.array(micros[(size, "new")])
        rows.append({"bytes": size, "base_p50_us": round(float(np.median(b)), 1),
                     "new_p50_us": round(float(np.median(n)), 1),
                     "base_p99_us": round(float(np.percentile(b, 99)), 1),
                     "new_p99_us": round(float(np.percentile(n, 99)), 1),
                     "p50_new_over_base": round(float(np.median(n) / np.median(b)), 3)})
    rows.append({"decisions_differing": differ})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.guard_code_ab",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("artifact", help="guard artifact directory")
    ap.add_argument("--base", required=True, help="git revision to compare against")
    ap.add_argument("--reps", type=int, default=2, help="passes over the texts per size")
    args = ap.parse_args(argv)
    artifact = str(Path(args.artifact).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.base],
                       cwd=ROOT, check=True, capture_output=True)
        (Path(tmp) / "shared").symlink_to(ROOT.parent / "shared")  # its ../shared/data
        try:
            rows = compare(tree, artifact, args.reps)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False, capture_output=True)
    sys.stdout.write(json.dumps({"base": args.base, "artifact": args.artifact,
                                 "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Old vs new guard input check, side by side in ONE process (a shared machine's load
moves both alike): ``python -m scripts.guard_speed_ab REV [--size 2048] [--n 300]
[--old-guard DIR] [--new-guard DIR]``.

The guard package at git revision ``REV`` is extracted into a temporary directory under
another name (``guard_at_rev``; the rules, validators, secrets and span modules are the
working tree's, so that only the code under test differs), both guards check the same
bench inputs (``router_model.guard.bench.bench_inputs``) alternately, and the script
prints JSON: CPU-time p50 / p99 of each and new / old, plus the largest score difference
and the number of differing decisions (verdict, categories, span types and offsets,
redaction).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SHARED = ("rules", "validators", "secrets", "spans", "dates", "places")  # kept current
NAME = "guard_at_rev"


def extract(rev: str, into: Path) -> None:
    """``router_model/guard`` at ``rev`` as package ``NAME`` under ``into``."""
    raw = subprocess.run(["git", "archive", rev, "router_model/guard"], check=True,
                         capture_output=True).stdout
    pkg = into / NAME
    pkg.mkdir()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for m in tar.getmembers():
            name = Path(m.name).name
            if not m.isfile() or not name.endswith(".py") or name[:-3] in SHARED:
                continue
            src = tar.extractfile(m)
            assert src is not None
            text = src.read().decode()
            text = re.sub(rf"router_model\.guard\.(?!(?:{'|'.join(SHARED)})\b)", f"{NAME}.",
                          text)
            text = text.replace("from router_model.guard import checks",
                                f"from {NAME} import checks")
            (pkg / name).write_text(text)


def differs(a: Any, b: Any) -> bool:
    def key(d: Any) -> Any:
        return d.verdict, d.categories, d.redacted, [(s.entity_type, s.start, s.end)
                                                     for s in d.pii]
    return bool(key(a) != key(b))


def compare(old: Any, new: Any, texts: list[str]) -> dict[str, Any]:
    for t in texts[:20]:
        old.check(t)
        new.check(t)
    diff, bad = 0.0, 0
    times: dict[str, list[float]] = {"old": [], "new": []}
    for rep in range(2):
        for i, t in enumerate(texts):
            pair = [("old", old), ("new", new)]
            for k, g in pair if (i + rep) % 2 else pair[::-1]:
                c0 = time.thread_time_ns()
                g.check(t)
                times[k].append((time.thread_time_ns() - c0) / 1e3)
            a, b = old.check(t), new.check(t)
            diff = max(diff, *(abs(a.scores[c] - b.scores[c]) for c in a.scores))
            bad += int(rep == 0 and differs(a, b))
    o, n = (np.array(times[k]) for k in ("old", "new"))
    q = {f"{k}_p{p}_us": round(float(np.percentile(v, p))) for k, v in (("old", o), ("new", n))
         for p in (50, 99)}
    return {**q, "p50_new_over_old": round(float(np.median(n) / np.median(o)), 3),
            "p99_new_over_old": round(float(np.percentile(n, 99) / np.percentile(o, 99)), 3),
            "max_abs_score_diff": diff, "differing_decisions": bad, "texts": len(texts)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rev")
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--old-guard", type=Path, default=Path("runs/guard/v8"))
    p.add_argument("--new-guard", type=Path, default=Path("runs/guard/v8"))
    args = p.parse_args(argv)
    from router_model.guard.bench import bench_inputs
    from router_model.guard.runtime import Guard

    with tempfile.TemporaryDirectory() as tmp:
        extract(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        old_runtime = __import__(f"{NAME}.runtime", fromlist=["Guard"])
        old = old_runtime.Guard.load(args.old_guard, threads=1)
        new = Guard.load(args.new_guard, threads=1)
        out = compare(old, new, bench_inputs(args.size, args.n))
    print(json.dumps({"rev": args.rev, "size": args.size, "old_guard": str(args.old_guard),
                      "new_guard": str(args.new_guard), **out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

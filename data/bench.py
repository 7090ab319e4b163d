"""``lmroute bench data``: time convert + validate on N synthetic tuples; prints JSON.

The raw input (canonical JSONL, as the gateway logs it, or CSV) is generated first in a
separate process (timed separately as ``generate_s``) so that the reported peak RSS is
that of converting and validating only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

N_MODELS = 10


def _generate(n_rows: int, path: str) -> None:
    from data.io import write_jsonl
    from data.synthetic import make_synthetic

    frame = make_synthetic(max(n_rows // N_MODELS, 1), N_MODELS, seed=0).frame
    frame = frame.assign(meta='{"backend": "synthetic", "status": 200}')
    if path.endswith(".csv"):
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        write_jsonl(frame, path)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run(n_rows: int, fmt: str, workdir: Path) -> dict[str, float | int | str]:
    """Generate (child process), then time convert and validate in this process."""
    from data.convert import convert
    from data.io import read_frame, write_parquet
    from data.validate import validate_frame

    raw, out = workdir / f"raw.{fmt}", workdir / "log.parquet"
    t0 = time.perf_counter()
    child = mp.get_context("spawn").Process(target=_generate, args=(n_rows, str(raw)))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"generator failed with exit code {child.exitcode}")
    t1 = time.perf_counter()
    result = convert(fmt, [raw])
    write_parquet(result.frame, out)
    del result
    t2 = time.perf_counter()
    report = validate_frame(read_frame(out))
    t3 = time.perf_counter()
    return {
        "n_rows": report.n_rows,
        "format": fmt,
        "generate_s": round(t1 - t0, 2),
        "convert_s": round(t2 - t1, 2),
        "validate_s": round(t3 - t2, 2),
        "total_s": round(t3 - t1, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "raw_mb": round(raw.stat().st_size / 2**20, 1),
        "parquet_mb": round(out.stat().st_size / 2**20, 1),
        "problems": len(report.problems),
        "cpus": os.cpu_count() or 0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``lmroute bench data``."""
    parser = argparse.ArgumentParser(prog="lmroute bench data", description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="tuples (rows)")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.n < 1:
        print("error: --n: expected a positive number of rows", file=sys.stderr)
        return 2
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run(args.n, args.format, args.workdir)))
        return 0
    with tempfile.TemporaryDirectory(prefix="lmroute-bench-") as tmp:
        print(json.dumps(run(args.n, args.format, Path(tmp))))
    return 0

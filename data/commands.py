"""Implementations of the ``lmroute data`` subcommands (argparse Namespace -> exit code)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from data import io
from data.convert import convert as run_convert
from data.profiles import load_profiles
from data.validate import ValidationReport, coerce_clean, summary_line, validate_frame

log = logging.getLogger(__name__)
OUT = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
ERR = Console(stderr=True, highlight=False, soft_wrap=True)


def _print_problems(report: ValidationReport) -> None:
    for p in report.problems:
        ERR.print(p.line(), markup=False)


def convert(args: argparse.Namespace) -> int:
    """Convert inputs, validate the result, write canonical Parquet."""
    profiles = load_profiles(args.profiles) if args.profiles else None
    opts: dict[str, object] = {}
    if args.format == "routellm":
        opts["keep_contaminated"] = args.keep_contaminated
    if args.format == "llmrouter" and args.completion_tokens is not None:
        opts["completion_tokens"] = args.completion_tokens
    with ERR.status(f"converting {len(args.inputs)} input(s) as {args.format} ..."):
        result = run_convert(args.format, args.inputs, profiles, **opts)
        report = validate_frame(result.frame)
    for line in result.summary_lines():
        OUT.print(line, markup=False)
    if not report.ok:
        _print_problems(report)
        ERR.print(f"not written: {args.out} (run `lmroute data validate` with --quarantine)")
        return 2
    io.write_parquet(result.frame, args.out)
    OUT.print(summary_line(args.out, result.frame, report), markup=False)
    return 0


def _write_any(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix in (".jsonl", ".json"):
        io.write_jsonl(df, path)
    else:
        text = {c: "string" for c in df.columns if df[c].dtype == object}
        df.astype(text).to_parquet(path, index=False)


def validate(args: argparse.Namespace) -> int:
    """Validate one log; quarantine rejected rows and/or write clean rows on request."""
    df = io.read_any(args.path)
    report = validate_frame(df)
    if args.quarantine is not None:
        bad = report.rejected
        reasons = (
            report.reasons[bad]
            if not report.unusable
            else np.full(
                int(bad.sum()),
                "; ".join(f"{p.column}:{p.rule}" for p in report.errors if not p.count),
            )
        )
        _write_any(df[bad].assign(reason=reasons), args.quarantine)
        ERR.print(f"quarantined {int(bad.sum())} row(s) -> {args.quarantine}")
    if args.out is not None and not report.unusable:
        clean = df[~report.rejected][[c for c in df.columns if c in io.SCHEMA.names]]
        io.write_parquet(coerce_clean(clean), args.out)
        ERR.print(f"wrote {int((~report.rejected).sum())} clean row(s) -> {args.out}")
    if not report.ok:
        _print_problems(report)
        return 2
    for p in report.problems:  # warnings only
        ERR.print(p.line(), markup=False)
    OUT.print(summary_line(args.path, df, report), markup=False)
    return 0


def _read_inputs(paths: list[Path]) -> pd.DataFrame:
    frames = [io.read_any(p) for p in paths]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def split(args: argparse.Namespace) -> int:
    """Split by request into train/val/test parquet files."""
    from data.splits import split_requests, write_splits

    result = split_requests(_read_inputs(args.inputs), args.val, args.test, args.seed, args.by_time)
    write_splits(result, args.out_dir)
    for name, c in result.counts().items():
        OUT.print(f"{name}: {c['rows']} rows, {c['requests']} requests", markup=False)
    return 0


def simulate(args: argparse.Namespace) -> int:
    """Simulate a bandit log from a full-information log."""
    from data.simulate import LoggingPolicy, simulate_frame

    policy = LoggingPolicy(
        args.policy, args.epsilon, args.around, args.temperature, args.cost_weight
    )
    out, _ = simulate_frame(_read_inputs(args.inputs), policy, args.seed)
    io.write_parquet(out, args.out)
    counts = out["model"].value_counts()
    OUT.print(f"{len(out)} logged requests under {policy.name} -> {args.out}", markup=False)
    OUT.print("chosen: " + ", ".join(f"{m}={n}" for m, n in counts.items()), markup=False)
    return 0


def synth(args: argparse.Namespace) -> int:
    """Write a synthetic full-information log."""
    from data.synthetic import make_synthetic

    data = make_synthetic(args.n, args.models, args.seed)
    io.write_parquet(data.frame, args.out)
    OUT.print(
        f"{len(data.frame)} rows ({args.n} requests x {len(data.models)} models) -> {args.out}",
        markup=False,
    )
    return 0


def summary(args: argparse.Namespace) -> int:
    """Print a rich table per dataset."""
    from data.summary import render, summarize

    for path in args.paths:
        OUT.print(render(summarize(io.read_any(path), str(path))))
    return 0


def profiles(args: argparse.Namespace) -> int:
    """Derive (and optionally write) the serving-profile table."""
    from data.locate import find_shared_data
    from data.profile_derive import HEADER, derive_profiles
    from data.profiles import dump_profiles

    shared = args.shared or find_shared_data("profiles")
    table = derive_profiles(Path(shared))
    for model, p in table.items():
        OUT.print(
            f"{model:38s} {p.size_class:16s} ttft={p.ttft_ms:6.0f}ms "
            f"tpot={p.tpot_ms:5.1f}ms {p.j_per_token:.3f}J/tok "
            f"${p.price_in_per_mtok:g}/${p.price_out_per_mtok:g} per Mtok",
            markup=False,
        )
    if args.write:
        dump_profiles(table, args.write, HEADER)
        OUT.print(f"wrote {len(table)} profiles -> {args.write}", markup=False)
    return 0

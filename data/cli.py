"""``lmroute data {convert,validate,split,simulate,synth,summary,profiles,fetch}``.

Thin argparse layer over the library; every bad-input error becomes one line on stderr
and exit status 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from rich.console import Console
from rich.logging import RichHandler

from data import commands, fetch_cli
from data.convert import FORMATS
from data.simulate import POLICIES

log = logging.getLogger("data.cli")
ERR = Console(stderr=True, soft_wrap=True)
BAD_INPUT = (
    ValueError,
    KeyError,
    FileNotFoundError,
    pa.ArrowException,
    json.JSONDecodeError,
    SyntaxError,
    UnicodeDecodeError,
)


def _convert(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a benchmark or a log into canonical Parquet")
    p.add_argument("inputs", nargs="+", type=Path, help="files or directories")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, type=Path, help="output .parquet")
    p.add_argument("--profiles", type=Path, default=None, help="serving profiles YAML")
    p.add_argument(
        "--keep-contaminated",
        action="store_true",
        help="routellm: keep the prompts RouteLLM excludes as contaminated",
    )
    p.add_argument(
        "--completion-tokens",
        type=int,
        default=None,
        help="llmrouter: assumed completion tokens per answer (default 256)",
    )
    p.set_defaults(func=commands.convert)


def _validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a log against the schema (exit 2 on problems)")
    p.add_argument("path", type=Path, help=".parquet / .jsonl / .csv (or a parquet directory)")
    p.add_argument("--quarantine", type=Path, help="write rejected rows + reason here")
    p.add_argument("--out", type=Path, help="write the clean rows here (canonical parquet)")
    p.set_defaults(func=commands.validate)


def _split(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("split", help="train/val/test parquet files split by request")
    p.add_argument("inputs", nargs="+", type=Path)
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--val", type=float, default=0.15)
    p.add_argument("--test", type=float, default=0.15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--by-time", action="store_true", help="oldest->train, newest->test")
    p.set_defaults(func=commands.split)


def _simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="full-information log -> bandit log (exact propensities)")
    p.add_argument("inputs", nargs="+", type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--policy", required=True, choices=POLICIES)
    p.add_argument("--epsilon", type=float, default=0.1)
    p.add_argument("--around", default="best_prior", help="MODEL, cheapest or best_prior")
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument(
        "--cost-weight",
        type=float,
        default=0.1,
        help="prior score = mean quality - w * mean cost / max mean cost",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=commands.simulate)


def _small(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="seeded synthetic full-information log")
    p.add_argument("--n", type=int, default=1000, help="requests")
    p.add_argument("--models", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=commands.synth)
    p = sub.add_parser("summary", help="table per dataset: rows, requests, per-model means")
    p.add_argument("paths", nargs="+", type=Path)
    p.set_defaults(func=commands.summary)
    p = sub.add_parser("profiles", help="derive the serving-profile table from shared data")
    p.add_argument("--write", type=Path, default=None, help="write the YAML here")
    p.add_argument("--shared", type=Path, default=None, help="shared data dir")
    p.set_defaults(func=commands.profiles)


def build_parser() -> argparse.ArgumentParser:
    """The ``lmroute data`` argument parser."""
    parser = argparse.ArgumentParser(prog="lmroute data", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_convert, _validate, _split, _simulate, _small, fetch_cli.add_parser):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``lmroute data``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse already printed usage / the error
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=ERR, show_path=False)],
        force=True,
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BAD_INPUT as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        ERR.print(f"[red]error:[/red] {msg}", markup=True, highlight=False)
        return 2

"""The ``lmroute data fetch`` command: progress bar, one line per problem, exit status.

Exit status: 0 every fetchable file is in place and verified (files the manifest marks
unavailable are listed with what to do, and do not fail the run); 1 some file failed to
download or verify; 2 bad usage (bad ``--to`` / ``--manifest``).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from data.fetch import FetchReport, FileResult, fetch_all, pending_bytes, verify_dir
from data.fetch_manifest import DEFAULT_MANIFEST, Manifest, load_manifest
from data.locate import FETCH_COMMAND, cache_location

ERR = Console(stderr=True, highlight=False, soft_wrap=True)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``fetch`` on the ``lmroute data`` sub-parsers."""
    p = sub.add_parser("fetch", help="download the public data files (verified) into the cache")
    p.add_argument(
        "--to",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"destination folder (default: {cache_location()})",
    )
    p.add_argument(
        "--manifest",
        type=Path,
        default=DEFAULT_MANIFEST,
        help="the manifest of files, URLs and SHA-256 (default: the repo's)",
    )
    p.add_argument(
        "--verify",
        type=Path,
        default=None,
        metavar="DIR",
        help="only check an existing data folder against the manifest",
    )
    p.set_defaults(func=command)


def _destination(to: Path | None) -> Path:
    dest = to if to is not None else cache_location()
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"--to: {dest} exists and is not a directory")
    return dest


class ResultPrinter:
    """One line per failed or unavailable file; once a host is unreachable, the other
    files that failed for that same reason are counted, not listed (``flush`` says how
    many)."""

    def __init__(self, dest: Path, console: Console = ERR) -> None:
        self.dest, self.console = dest, console
        self.seen: set[str] = set()
        self.repeated = 0

    def __call__(self, r: FileResult) -> None:
        if r.status == "failed":
            if r.network and r.message in self.seen:
                self.repeated += 1
                return
            self.seen.add(r.message)
            self.console.print(f"[red]failed:[/red] {escape(r.path)}: {escape(r.message)}")
        elif r.status == "unavailable":
            msg = r.message.replace("<dest>", str(self.dest))
            self.console.print(f"[yellow]not fetchable:[/yellow] {escape(r.path)}: {escape(msg)}")

    def flush(self) -> None:
        if self.repeated:
            self.console.print(
                f"[red]failed:[/red] {self.repeated} more file(s) for the same reason "
                "(host unreachable, not retried)"
            )


def summary(report: FetchReport) -> str:
    parts = [f"{report.count(s)} {s}" for s in ("downloaded", "rebuilt", "present")]
    tail = f", {report.count('unavailable')} not fetchable, {len(report.failed)} failed"
    return f"data in {report.dest}: " + ", ".join(parts) + tail


def run_fetch(
    manifest: Manifest, dest: Path, console: Console = ERR, verbose: bool = True
) -> FetchReport:
    """Fetch with a progress bar on ``console``; failures print as they happen.

    ``verbose=False`` (``make demo``): the bar disappears when done and nothing else is
    printed; the caller reports from the returned ``FetchReport``.
    """
    sizes = {f.path: f.size for f in manifest.files}
    printer = ResultPrinter(dest, console)
    got: defaultdict[str, int] = defaultdict(int)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    quiet = not verbose and not console.is_terminal  # no bar, not even a blank line
    with Progress(*columns, console=console, transient=not verbose, disable=quiet) as bar:
        task = bar.add_task("fetching", total=pending_bytes(manifest, dest))

        def on_bytes(path: str, n: int) -> None:
            got[path] += n
            bar.update(task, advance=n, description=path)

        def on_result(r: FileResult) -> None:
            if r.status == "failed":  # take its bytes back out of the bar
                bar.update(
                    task,
                    advance=-got[r.path],
                    total=(bar.tasks[0].total or 0) - sizes.get(r.path, 0),
                )
            if verbose:
                printer(r)

        report = fetch_all(manifest, dest, progress=on_bytes, on_result=on_result)
        bar.update(task, description="done")
    if verbose:
        printer.flush()
    return report


def command(args: argparse.Namespace) -> int:
    """``lmroute data fetch``; returns the exit status."""
    manifest = load_manifest(args.manifest)
    if args.verify is not None:
        problems = verify_dir(manifest, args.verify)
        for line in problems:
            ERR.print(f"mismatch: {line}", markup=False)
        ERR.print(
            f"{args.verify}: {len(manifest.files) - len(problems)}/{len(manifest.files)}"
            " files match the manifest",
            markup=False,
        )
        return 1 if problems else 0
    dest = _destination(args.to)
    report = run_fetch(manifest, dest)
    ERR.print(summary(report), markup=False)
    if report.network_unreachable:
        ERR.print(
            f"network unreachable: nothing downloaded; run `{FETCH_COMMAND}` again when online",
            markup=False,
        )
    return 0 if report.ok else 1

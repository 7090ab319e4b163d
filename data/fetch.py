"""``lmroute data fetch``: download the public data files, verified, into the cache.

For every manifest entry (``data.fetch_manifest``): a file already in place with the
right size and SHA-256 is kept (so a second run downloads nothing); a verbatim file is
downloaded from its pinned URL (mirrors in order); a derived file is rebuilt from its
pinned inputs by its transform (``data.fetch_transforms``); an unavailable file is
reported with what to do. Every written file went through ``write_verified`` (temp
file, size + SHA-256 check, rename). Once a host cannot be reached at all, the other
files on that host are not tried (one network failure, not one timeout per file).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from data.fetch_download import (
    DownloadError,
    download_bytes,
    host_of,
    is_verified,
    make_client,
    stream_chunks,
    write_verified,
)
from data.fetch_manifest import Manifest, ManifestFile
from data.fetch_transforms import get_transform

log = logging.getLogger(__name__)
DONE = ("present", "downloaded", "rebuilt")
Progress = Callable[[str, int], None]  # (file path, bytes just received)
T = TypeVar("T")


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: ``status`` in present / downloaded / rebuilt / failed /
    unavailable; ``message`` is one line; ``network`` marks an unreachable host."""

    path: str
    status: str
    message: str = ""
    network: bool = False


@dataclass
class FetchReport:
    """The outcome of one fetch into ``dest``."""

    dest: Path
    results: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def network_unreachable(self) -> bool:
        """Every failure was an unreachable host and nothing new could be downloaded."""
        new = self.count("downloaded") + self.count("rebuilt")
        return bool(self.failed) and new == 0 and all(r.network for r in self.failed)

    def complete(self, prefix: str) -> bool:
        """Every fetchable file under ``prefix/`` is in place."""
        mine = [r for r in self.results if r.path.startswith(prefix.rstrip("/") + "/")]
        return bool(mine) and all(r.status in DONE for r in mine if r.status != "unavailable")


class _Fetcher:
    """One fetch run: the client, hosts found unreachable, the progress callback."""

    def __init__(self, client: httpx.Client, progress: Progress | None) -> None:
        self.client = client
        self.progress = progress
        self.dead_hosts: dict[str, str] = {}

    def _each_url(self, urls: tuple[str, ...], attempt: Callable[[str], T]) -> T:
        """``attempt(url)`` per mirror until one succeeds; else one error naming them all."""
        errors: list[DownloadError] = []
        for url in urls:
            host = host_of(url)
            if host in self.dead_hosts:
                errors.append(DownloadError(self.dead_hosts[host], network=True))
                continue
            try:
                return attempt(url)
            except DownloadError as exc:
                if exc.network:
                    self.dead_hosts[host] = str(exc)
                errors.append(exc)
        msg = "; ".join(dict.fromkeys(str(e) for e in errors))
        raise DownloadError(msg, network=all(e.network for e in errors))

    def _tick(self, path: str) -> Callable[[int], None] | None:
        if self.progress is None:
            return None
        progress = self.progress
        return lambda n: progress(path, n)

    def verbatim(self, entry: ManifestFile, final: Path) -> None:
        def attempt(url: str) -> None:
            chunks = stream_chunks(self.client, url, entry.size)
            write_verified(final, chunks, entry.size, entry.sha256, self._tick(entry.path), url)

        self._each_url(entry.urls, attempt)

    def derived(self, entry: ManifestFile, final: Path) -> None:
        blobs = [
            self._each_url(inp.urls, lambda u: download_bytes(self.client, u))
            for inp in entry.inputs
        ]
        try:
            data = get_transform(entry.transform).apply(blobs, entry.args)
        except (ValueError, KeyError, TypeError) as exc:
            raise DownloadError(f"cannot rebuild with {entry.transform}: {exc}") from exc
        write_verified(
            final,
            [data],
            entry.size,
            entry.sha256,
            self._tick(entry.path),
            f"{entry.transform} of {len(blobs)} input(s)",
        )


def fetch_one(fetcher: _Fetcher, entry: ManifestFile, dest: Path) -> FileResult:
    """Bring one file into ``dest`` (or say why not)."""
    final = dest / entry.path
    if not entry.fetchable:
        return FileResult(entry.path, "unavailable", f"{entry.reason} To get it: {entry.action}")
    if is_verified(final, entry.size, entry.sha256):
        return FileResult(entry.path, "present")
    try:
        if entry.kind == "verbatim":
            fetcher.verbatim(entry, final)
            return FileResult(entry.path, "downloaded")
        fetcher.derived(entry, final)
        return FileResult(entry.path, "rebuilt", entry.derived_from)
    except DownloadError as exc:
        return FileResult(entry.path, "failed", str(exc), network=exc.network)


def pending_bytes(manifest: Manifest, dest: Path) -> int:
    """Bytes still to write into ``dest`` (for the progress bar's total)."""
    return sum(
        f.size for f in manifest.fetchable() if not is_verified(dest / f.path, f.size, f.sha256)
    )


def fetch_all(
    manifest: Manifest,
    dest: Path,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> FetchReport:
    """Fetch every manifest file into ``dest`` (layout: ``dest/<entry.path>``)."""
    report = FetchReport(dest=dest)
    dest.mkdir(parents=True, exist_ok=True)
    own = client is None
    fetcher = _Fetcher(client or make_client(), progress)
    try:
        for entry in manifest.files:
            result = fetch_one(fetcher, entry, dest)
            log.debug("%s: %s %s", entry.path, result.status, result.message)
            report.results.append(result)
            if on_result:
                on_result(result)
    finally:
        if own:
            fetcher.client.close()
    return report


def subset_verified(manifest: Manifest, root: Path, prefix: str) -> bool:
    """Every manifest file under ``prefix/`` is in ``root`` with the right SHA-256."""
    files = [f for f in manifest.files if f.path.startswith(prefix.rstrip("/") + "/")]
    return bool(files) and all(is_verified(root / f.path, f.size, f.sha256) for f in files)


def verify_dir(manifest: Manifest, root: Path) -> list[str]:
    """Problems of an existing data folder against the manifest (empty = all match)."""
    problems = []
    for f in manifest.files:
        p = root / f.path
        if not p.is_file():
            problems.append(f"{f.path}: missing")
        elif p.stat().st_size != f.size:
            problems.append(f"{f.path}: {p.stat().st_size} bytes, expected {f.size}")
        elif not is_verified(p, f.size, f.sha256):
            problems.append(f"{f.path}: SHA-256 differs from the manifest")
    return problems

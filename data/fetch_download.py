"""HTTP downloads for ``lmroute data fetch``: verified, atomic, never partial.

``write_verified`` streams bytes into a temporary file next to the target, checks the
byte count and SHA-256, and only then renames it into place (``os.replace``); on any
failure the temporary file is removed, so a truncated or corrupt download is never left
where a reader would find it. Errors are ``DownloadError`` with a one-line message;
``network=True`` marks a failure to reach the host at all (DNS, refused, connect
timeout, proxy), as opposed to a server that answered wrongly.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

NETWORK_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError)
MAX_INPUT_BYTES = 256 * 1024 * 1024
ByteCallback = Callable[[int], None]


class DownloadError(Exception):
    """One download or verification failed; ``str(exc)`` is one line."""

    def __init__(self, message: str, network: bool = False) -> None:
        super().__init__(message)
        self.network = network


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def make_client(timeout_s: float = 60.0, connect_s: float = 10.0) -> httpx.Client:
    """The HTTP client fetch uses: redirects followed (Hugging Face resolves to a CDN)."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_s, connect=connect_s),
        follow_redirects=True,
        headers={"User-Agent": "lmroute-data-fetch"},
    )


def stream_chunks(client: httpx.Client, url: str, limit: int) -> Iterator[bytes]:
    """The response body of ``url`` in chunks; more than ``limit`` bytes is an error."""
    seen = 0
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise DownloadError(f"HTTP {resp.status_code} {resp.reason_phrase} from {url}")
            for chunk in resp.iter_bytes():
                seen += len(chunk)
                if seen > limit:
                    raise DownloadError(f"{url} sent more than the expected {limit} bytes")
                yield chunk
    except NETWORK_ERRORS as exc:
        raise DownloadError(f"cannot reach {host_of(url)} ({exc})", network=True) from exc
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"download of {url} broke off after {seen} bytes ({type(exc).__name__}: {exc})"
        ) from exc


def download_bytes(
    client: httpx.Client,
    url: str,
    on_bytes: ByteCallback | None = None,
    limit: int = MAX_INPUT_BYTES,
) -> bytes:
    """The whole body of ``url`` in memory (for a derived file's inputs)."""
    parts = []
    for chunk in stream_chunks(client, url, limit):
        parts.append(chunk)
        if on_bytes:
            on_bytes(len(chunk))
    return b"".join(parts)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_verified(path: Path, size: int, sha256: str) -> bool:
    """``path`` exists with exactly this size and SHA-256."""
    return path.is_file() and path.stat().st_size == size and sha256_file(path) == sha256


def _write_chunks(
    fd: int, chunks: Iterable[bytes], on_bytes: ByteCallback | None
) -> tuple[int, str]:
    h, n = hashlib.sha256(), 0
    it = iter(chunks)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in it:
                f.write(chunk)
                h.update(chunk)
                n += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
            f.flush()
            os.fsync(f.fileno())
    finally:
        close = getattr(it, "close", None)  # a generator: close the HTTP response now
        if close is not None:
            close()
    return n, h.hexdigest()


def _nearest_dir(p: Path) -> Path:
    while not p.is_dir():
        p = p.parent
    return p


def write_verified(
    final: Path,
    chunks: Iterable[bytes],
    size: int,
    sha256: str,
    on_bytes: ByteCallback | None = None,
    what: str = "",
) -> None:
    """Write ``chunks`` to ``final`` via a temporary file, only if size and SHA-256 match.

    The temporary file lives in the nearest existing folder above ``final`` (same file
    system, so the rename is atomic); ``final``'s folders are created only once the bytes
    are verified, so a failed fetch leaves no empty ``routerbench/`` for a reader to find.
    """
    stage = _nearest_dir(final.parent)
    fd, tmp_name = tempfile.mkstemp(dir=stage, prefix=f".{final.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        n, digest = _write_chunks(fd, chunks, on_bytes)
        origin = f" from {what}" if what else ""
        if n != size:
            raise DownloadError(f"got {n} bytes{origin}, expected {size}")
        if digest != sha256:
            raise DownloadError(
                f"SHA-256 mismatch{origin}: got {digest[:16]}..., expected {sha256[:16]}..."
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)

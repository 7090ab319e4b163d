"""Server subprocesses for the benchmark: start, wait until ready, always stop.

Each process runs in its own session (process group) with stdout/stderr in a log file,
so ``stop()`` ends the server and any children it forked (uvicorn workers) and a failed
start can show the log's tail. Use as a context manager, or in an ``ExitStack``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)


class ProcessError(RuntimeError):
    """A server did not start (exited, or not ready in time); the message has its log tail."""


def log_tail(path: Path, n_lines: int = 25) -> str:
    """The last ``n_lines`` of a log file ('' when absent)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-n_lines:])


class ManagedProcess:
    """One server subprocess, ready when ``GET ready_url`` answers 200."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        ready_url: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.ready_url = ready_url
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None

    def start(self, timeout_s: float) -> ManagedProcess:
        """Start and block until ready; raises ``ProcessError`` (after stopping it) if not."""
        logger.info("starting %s: %s", self.name, " ".join(self.argv))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, cwd=self.cwd, start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - t0
        logger.info("%s ready in %.1fs", self.name, self.startup_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ProcessError(
                    f"{self.name} exited with code {self.proc.returncode} before it was ready; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if _answers(self.ready_url):
                return
            time.sleep(0.2)
        raise ProcessError(
            f"{self.name} not ready at {self.ready_url} after {timeout_s:.0f}s; "
            f"log {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace_s``. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            logger.warning("%s ignored SIGTERM for %.0fs; killing it", self.name, grace_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace_s)
        # children that outlived the leader (a process group survives its leader)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False

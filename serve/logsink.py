"""Buffered, rotating decision log: canonical logged tuples (``data/schema.py``) to
Parquet or JSONL files, never blocking the request path.

``append`` only puts a row in a bounded in-memory buffer. A background task flushes it
(in a worker thread) every ``flush_interval_s`` seconds, as soon as ``flush_rows`` rows
are waiting, and at shutdown.

Files: Parquet writes one finished file per flush (``part-<utc>-<pid>-<sink>-<seq>.parquet``,
``<sink>`` random per sink, so two sinks of one process never collide; a replica
(``state.replica_id``) writes ``part-<utc>-<replica>-<pid>-...`` and adds
``"replica": <id>`` to each row's meta), so
every file on disk is always complete and readable; JSONL appends to a file rotated
every ``rotate_rows`` rows and is flushed to the OS at each flush.

Crash-loss bound: a hard crash (SIGKILL, power loss) loses at most the rows still in the
buffer: those of the last ``flush_interval_s`` seconds, and never more than
``flush_rows`` rows plus what arrives during one write. When the buffer holds
``max_buffer_rows`` rows (the disk is failing or too slow), new rows are dropped,
counted in ``lmroute_log_rows_dropped`` and logged as errors: never silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from serve.jsonfast import dumps
from serve.metrics import GatewayMetrics
from serve.settings import LogSettings

log = logging.getLogger(__name__)

FEEDBACK_SCHEMA = pa.schema([
    pa.field("request_id", pa.string(), nullable=False),
    pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("quality", pa.float64(), nullable=False),
    pa.field("meta", pa.large_string(), nullable=True),
])


class LogSink:
    """One buffered stream of rows with a fixed Arrow schema, written under ``directory``."""

    def __init__(self, settings: LogSettings, directory: Path, schema: pa.Schema,
                 metrics: GatewayMetrics | None = None, replica: str = "") -> None:
        self.settings = settings
        self.replica = replica
        self._meta_tag = dumps({"replica": replica}).decode()[:-1] if replica else ""
        self.dir = directory
        self.schema = schema
        self.metrics = metrics
        self._buf: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._seq = 0
        self._sink_id = secrets.token_hex(3)
        self._closing = False
        self._jsonl: IO[bytes] | None = None
        self._jsonl_rows = 0
        self.rows_written = 0
        self.rows_dropped = 0

    def append(self, row: dict[str, Any]) -> None:
        """Buffer one row (O(1), no I/O)."""
        if len(self._buf) >= self.settings.max_buffer_rows:
            self.rows_dropped += 1
            if self.metrics is not None:
                self.metrics.log_dropped.inc()
            log.error("decision log buffer full (%d rows): row %s dropped",
                      len(self._buf), row.get("request_id"))
            return
        if self._meta_tag:
            self._tag(row)
        self._buf.append(row)
        if len(self._buf) >= self.settings.flush_rows:
            self._wake.set()

    def _tag(self, row: dict[str, Any]) -> None:
        """``meta.replica`` = this replica (meta is JSON object text, or null)."""
        meta = row.get("meta")
        if not meta:
            row["meta"] = self._meta_tag + "}"
        elif isinstance(meta, str) and meta.startswith("{"):
            rest = meta[1:].lstrip()
            row["meta"] = self._meta_tag + ("}" if rest.startswith("}") else "," + rest)

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.settings.format == "parquet":
            self._warm_up()
        self._task = asyncio.create_task(self._run(), name=f"logsink:{self.dir.name}")

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.flush_interval_s)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # keep the sink alive; rows stay buffered for the next try
                log.exception("decision log flush to %s failed; will retry", self.dir)

    async def flush(self) -> int:
        """Write everything buffered now; returns the number of rows written."""
        async with self._lock:
            rows, self._buf = self._buf, []
            if not rows:
                return 0
            try:
                await asyncio.to_thread(self._write, rows)
            except Exception:
                self._buf[:0] = rows  # put them back, oldest first
                raise
            self.rows_written += len(rows)
            return len(rows)

    async def close(self, timeout_s: float = 30.0) -> None:
        """Stop the flusher after its current write (never cancelled mid-write, which
        would leave the file to a thread nobody waits for), then write what is left. A
        write still stuck after ``timeout_s`` (a hung disk) or a final write that fails is
        logged with the number of rows lost, never raised: shutdown goes on."""
        if self._task is not None:
            self._closing = True
            self._wake.set()
            done, _ = await asyncio.wait({self._task}, timeout=timeout_s)
            if not done:
                log.error("decision log %s: a write is still stuck after %.0f s at shutdown; "
                          "%d buffered rows are lost", self.dir, timeout_s, len(self._buf))
                return
        try:
            await asyncio.wait_for(self.flush(), timeout_s)
        except Exception:  # includes TimeoutError
            log.exception("decision log %s: final write failed at shutdown; %d rows lost",
                          self.dir, len(self._buf))
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        log.info("decision log %s closed: %d rows written, %d dropped", self.dir,
                 self.rows_written, self.rows_dropped)

    def _warm_up(self) -> None:
        """Write an empty table of the schema to memory, at startup: Parquet writing imports
        pandas on first use (~0.3 s idle, ~1 s on a loaded box, holding the GIL), which
        would otherwise stall the event loop in the middle of the first traffic."""
        t = time.perf_counter()
        pq.write_table(pa.Table.from_pylist([], schema=self.schema), pa.BufferOutputStream())
        log.debug("decision log %s: Parquet writer warmed up in %.3f s", self.dir,
                  time.perf_counter() - t)

    def _stem(self) -> str:
        self._seq += 1
        utc = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        who = f"{self.replica}-{os.getpid()}" if self.replica else str(os.getpid())
        return f"part-{utc}-{who}-{self._sink_id}-{self._seq:06d}"

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if self.settings.format == "jsonl":
            self._write_jsonl(rows)
            return
        table = pa.Table.from_pylist(rows, schema=self.schema)
        final = self.dir / f"{self._stem()}.parquet"
        tmp = final.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        tmp.replace(final)  # readers never see a half-written file

    def _write_jsonl(self, rows: list[dict[str, Any]]) -> None:
        if self._jsonl is None or self._jsonl_rows >= self.settings.rotate_rows:
            if self._jsonl is not None:
                self._jsonl.close()
            self._jsonl = (self.dir / f"{self._stem()}.jsonl").open("ab")
            self._jsonl_rows = 0
        out = self._jsonl
        for row in rows:
            out.write(dumps({k: _jsonable(v) for k, v in row.items()}) + b"\n")
        out.flush()
        self._jsonl_rows += len(rows)


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v

"""Where the training logs come from: the ``data`` config group, one class per source,
built from the group's ``_target_`` in ``train/cli.py`` (like the policy).

Every source carries the same fields (the ``DataConf`` schema, so one Hydra schema
validates them all) and implements ``load_frame``; ``load`` turns the frame into the
dense view training uses. Validation is carved out of the loaded requests by
``train.sources.split_indices`` with ``val_fraction`` / ``split_seed``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from train.sources import LoadedLogs, frame_sha256, subset, to_view

log = logging.getLogger(__name__)


@dataclass
class DataSource(ABC):
    """The fields every source takes (see ``train.config.DataConf``)."""

    paths: list[str] = field(default_factory=list)
    feedback: str = "full"  # "full": one row per request x model; "bandit": one per request
    val_fraction: float = 0.2
    split_seed: int = 0
    max_requests: int = 0  # 0 = all
    profiles: str = ""  # serving-profile YAML; "" = data.profiles default
    synthetic_tuples: int = 0  # SyntheticSource
    require_feedback: bool = True  # GatewaySource: only rows graded by /v1/feedback
    logging_policy: str | None = None  # GatewaySource: only this router policy's rows
    models: list[str] = field(default_factory=list)  # the action set; [] = those in the log

    @abstractmethod
    def load_frame(self, seed: int) -> pd.DataFrame:
        """The canonical long frame (data/schema.py)."""

    def load(self, seed: int = 0) -> LoadedLogs:
        df = self.load_frame(seed)
        view = to_view(df, self.feedback, list(self.models) or None)
        if self.max_requests and len(view) > self.max_requests:
            view = subset(view, np.arange(self.max_requests))
        log.info("loaded %d requests x %d models (%s)", len(view), len(view.models),
                 type(self).__name__)
        return LoadedLogs(df, view, frame_sha256(df), self.profiles)

    def iter_tables(self, seed: int = 0, batch_rows: int = 65_536,
                    columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """The canonical rows as Arrow batches (streamed training). Default: the loaded
        frame, sliced (in memory; LogsSource streams its Parquet files instead)."""
        table = pa.Table.from_pandas(self.load_frame(seed), preserve_index=False)
        table = table.select(list(columns)) if columns else table
        for batch in table.to_batches(max_chunksize=batch_rows):
            yield pa.Table.from_batches([batch])

    def _need_paths(self, what: str) -> list[str]:
        if not self.paths:
            raise ValueError(f"data.paths: expected {what}")
        return list(self.paths)


class RouterBenchSource(DataSource):
    """RouterBench CSVs (zero-shot split), converted by ``data.convert``."""

    def load_frame(self, seed: int) -> pd.DataFrame:
        from data.convert import convert
        from data.profiles import load_profiles

        paths = self._need_paths("the RouterBench CSV directory or files")
        prof = load_profiles(self.profiles) if self.profiles else None
        return convert("routerbench", paths, profiles=prof).frame


class LogsSource(DataSource):
    """Canonical logs (Parquet / JSONL / CSV written by ``data.io``)."""

    def load_frame(self, seed: int) -> pd.DataFrame:
        from data.io import read_frame

        return read_frame(self._need_paths("canonical log files (parquet/jsonl/csv)"))

    def iter_tables(self, seed: int = 0, batch_rows: int = 65_536,
                    columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """Parquet logs stream through ``datasets`` (``data.io.iter_tables``: bounded
        memory); JSONL / CSV logs are loaded (they are small by nature)."""
        from data.io import expand_paths, iter_tables

        paths = self._need_paths("canonical log files (parquet/jsonl/csv)")
        files = expand_paths(paths)
        other = [f for f in files if f.suffix != ".parquet"]
        if not other:
            yield from iter_tables(paths, batch_rows, columns)
            return
        log.warning("data.paths: %d of %d log files are not Parquet (%s%s): the whole log "
                    "is loaded in memory, not streamed", len(other), len(files), other[0],
                    ", ..." if len(other) > 1 else "")
        yield from super().iter_tables(seed, batch_rows, columns)


class SyntheticSource(DataSource):
    """Seeded synthetic full-information tuples (``data.synthetic``), 10 models."""

    def load_frame(self, seed: int) -> pd.DataFrame:
        from data.synthetic import make_synthetic

        if self.synthetic_tuples <= 0:
            raise ValueError("data.synthetic_tuples: expected > 0 for the synthetic source")
        return make_synthetic(max(self.synthetic_tuples // 10, 1), models=10, seed=seed).frame


class GatewaySource(DataSource):
    """The gateway's own decision logs joined with ``/v1/feedback`` scores; only the
    router's learnable, graded decisions are kept, the rest counted per reason and logged
    (``data/convert/gateway.py``). A bandit log: train it with an off-policy learner."""

    def load_frame(self, seed: int) -> pd.DataFrame:
        from data.convert import convert

        if self.feedback != "bandit":
            raise ValueError("data.feedback: the gateway source is a bandit log "
                             "(one routed model per request): expected 'bandit'")
        res = convert("gateway", self._need_paths("gateway log directories (log.dir)"),
                      require_feedback=self.require_feedback,
                      logging_policy=self.logging_policy)
        for line in res.summary_lines():
            log.info("gateway logs: %s", line)
        if res.frame.empty:
            raise ValueError(f"data.paths: no learnable, graded routing decisions in "
                             f"{self.paths} ({'; '.join(res.summary_lines()[-4:])})")
        return res.frame

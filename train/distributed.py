"""The process group of a multi-process training run (torch DDP, launched by ``torchrun``).

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; ``init_from_env`` joins the group with the ``gloo`` backend (CPU; ``nccl``
on GPUs) when ``WORLD_SIZE`` > 1, and is a no-op otherwise, so one code path serves one
process and many. Several machines: the same command on each, e.g.

    torchrun --nnodes 2 --node_rank {0,1} --nproc_per_node 8 \\
        --master_addr HOST0 --master_port 29500 -m lmroute_cli train trainer=stream ...

with ``trainer.work_dir`` on a filesystem every node sees (docs/scale.md).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: ``rank`` of ``world`` (0 of 1 alone)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """The process that writes the artifact, the report and the tracker's run."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over every process (in place; returned)."""
        if self.world > 1:
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)
        return t

    def wrap(self, module: torch.nn.Module) -> Any:
        """``module`` in DistributedDataParallel (gradients averaged across processes)."""
        if self.world == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(module)


def env_rank() -> int:
    """This process's rank from torchrun's environment (0 when not launched by it)."""
    return int(os.environ.get("RANK", "0"))


def init_from_env(backend: str = "gloo", timeout_s: float = 1800.0) -> Dist:
    """Join torchrun's process group (once); a single process needs nothing."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    d = Dist(torch.distributed.get_rank(), torch.distributed.get_world_size())
    log.info("distributed training: rank %d of %d (%s)", d.rank, d.world, backend)
    return d


def shutdown(d: Dist) -> None:
    if d.world > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()

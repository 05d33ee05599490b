"""Ranks of a distributed job (torchrun, one node or many) and how a stage's work splits across them.

A process learns its rank and the world size from RANK and WORLD_SIZE, as torchrun and
accelerate set them; without them it is rank 0 of 1 and nothing here starts a process group.
Every stage splits its items (corpus chunks, queries, teacher pairs) with `Shard.part`:
contiguous blocks, the same on every rank. What a rank finishes goes to the shared filesystem
(index chunks, score-store shards) or, for small results, to every rank through `gather`.
A rank that dies brings torchrun's job down; rerunning the same command skips every chunk and
teacher score that was written, whatever the world size of the new run.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# A barrier waits for the slowest rank; encoding a big corpus chunk or scoring a shard can take
# hours, longer than torch's 30-minute default.
TIMEOUT_ENV = "RANKDISTILL_DIST_TIMEOUT_S"


@dataclass(frozen=True)
class Shard:
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> Shard:
        """The torchrun / accelerate convention: RANK and WORLD_SIZE in the environment. On a
        node with GPUs each local rank takes its own (LOCAL_RANK) before any model loads."""
        shard = cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))
        if shard.world_size > 1:
            import torch

            if torch.cuda.is_available():
                torch.cuda.set_device(
                    int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count()
                )
        return shard

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes what all ranks made (manifests, metrics, training sets)."""
        return self.rank == 0

    def bounds(self, count: int) -> tuple[int, int]:
        """[start, end) of this rank's contiguous block of `count` items."""
        return count * self.rank // self.world_size, count * (self.rank + 1) // self.world_size

    def part(self, items: Sequence[T]) -> list[T]:
        """This rank's contiguous block of `items` (blocks differ in size by at most one)."""
        start, end = self.bounds(len(items))
        return list(items[start:end])

    def barrier(self) -> None:
        """Wait until every rank gets here (no-op for one process)."""
        if self.world_size > 1:
            _group().barrier()

    def gather(self, value: T) -> list[T]:
        """Every rank's `value`, in rank order, on every rank (picklable objects)."""
        if self.world_size == 1:
            return [value]
        import torch.distributed as dist

        _group()
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered


def _group() -> Any:
    """torch.distributed, with the default process group started on first use (gloo for CPU
    tensors, NCCL for CUDA ones when there is a GPU; torchrun's env:// rendezvous)."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, 24 * 3600)))
        dist.init_process_group(backend, timeout=timeout)
    return dist

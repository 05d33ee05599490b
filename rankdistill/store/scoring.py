"""Score pairs with a teacher through the store: the one entry point mining, reranking and
`rankdistill score` use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.store.score_store import ScoreStore
from rankdistill.teachers.base import Ensemble, Teacher


def score_with_store(
    teacher: Teacher,
    queries: list[str],
    docs: list[str],
    store_root: str | Path,
    batch_size: int = 32,
    progress: bool = True,
    info: dict[str, Any] | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> np.ndarray:
    """Scores of zip(queries, docs), reading what the store holds and storing what is new.

    A listwise teacher (an ensemble: its scores are calibrated per query over the candidate list
    of the call) is never stored as such; its members are, so call it with whole lists.
    """
    if isinstance(teacher, Ensemble):  # members are scored as they are; the ensemble combines
        return teacher.combine(
            queries,
            [
                store.score_pairs(t, queries, docs, batch_size=batch_size, progress=progress)
                for t, store in stored_teachers(teacher, store_root, info)
            ],
        )
    ((stored, store),) = stored_teachers(teacher, store_root, info)
    return store.score_pairs(
        stored,
        queries,
        docs,
        batch_size=batch_size,
        progress=progress,
        rank=rank,
        world_size=world_size,
    )


def stored_teachers(
    teacher: Teacher, store_root: str | Path, info: dict[str, Any] | None
) -> list[tuple[Teacher, ScoreStore]]:
    """What goes into the store for `teacher`, each with its store: the teacher itself, or for an
    ensemble (listwise: never stored as such) each member under its own fingerprint."""
    if isinstance(teacher, Ensemble):
        return [
            (m.teacher, ScoreStore(store_root, m.teacher.fingerprint, {"ensemble_member": True}))
            for m in teacher.members
        ]
    return [(teacher, ScoreStore(store_root, teacher.fingerprint, info))]


def score_shard(
    teacher: Teacher,
    queries: list[str],
    docs: list[str],
    store_root: str | Path,
    batch_size: int = 32,
    progress: bool = True,
    shard: Shard | None = None,
    info: dict[str, Any] | None = None,
) -> None:
    """Store this rank's share of the pairs' missing scores: the pairs it owns by key hash, for
    the teacher or, for an ensemble, each member (a listwise ensemble is never stored itself).
    After every rank has run it (a barrier), `score_with_store` reads all the scores back."""
    shard = shard or Shard()
    if shard.world_size == 1:
        return
    for stored, store in stored_teachers(teacher, store_root, info):
        store.score_pairs(
            stored,
            queries,
            docs,
            batch_size=batch_size,
            progress=progress,
            rank=shard.rank,
            world_size=shard.world_size,
        )


def score_on_every_rank(
    teacher: Teacher,
    queries: list[str],
    docs: list[str],
    store_root: str | Path,
    batch_size: int = 32,
    progress: bool = True,
    shard: Shard | None = None,
    info: dict[str, Any] | None = None,
    engine: str = "local",
) -> np.ndarray:
    """Every pair's score on every rank: each rank first stores the missing pairs it owns
    (`score_shard`), then after a barrier all read them back (`score_with_store`). With `engine`
    ray the missing pairs are scored on Ray first (`store.ray_scoring`; one process, no ranks)."""
    if engine == "ray":
        from rankdistill.store.ray_scoring import score_on_ray

        if shard is not None and shard.world_size > 1:
            raise UserError("engine: ray runs its own workers; launch it once, not under torchrun")
        score_on_ray(teacher, queries, docs, store_root, batch_size, progress, info)
    score_shard(teacher, queries, docs, store_root, batch_size, progress, shard, info)
    (shard or Shard()).barrier()
    return score_with_store(teacher, queries, docs, store_root, batch_size, progress, info)

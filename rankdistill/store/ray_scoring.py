"""Teacher scoring as a Ray Data pipeline (`engine: ray`): the same store as one process.

    pairs the store lacks  ->  batches  ->  a pool of actors holding the teacher  ->  the store

For the teacher, or each member of an ensemble (stored under its own fingerprint, as the local
path stores it), the distinct pairs the store does not hold are cut into batches, longest texts
first, in the batches the local loop uses (`score_store.scoring_batches`). Each actor gets the teacher once (Ray ships it to the
worker) and scores whole batches. The driver alone writes: every batch that comes back becomes one
store shard (`ScoreStore.put_many`, atomic, and a pair already stored keeps its score), so a task
Ray retries after a worker died can neither lose a pair nor store one twice. Ray Data restarts
a dead actor and retries its task.

Where Ray runs: `RAY_ADDRESS`, else a local Ray started for the run (as corpus encoding on Ray:
rankdistill.retrieval.ray_encode). Needs `pip install rankdistill[ray]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from rankdistill.retrieval.ray_encode import PoolActor, map_on_actors
from rankdistill.teachers.base import Teacher

PID_FILE = "RAY_SCORER_PIDS"  # a folder: each actor marks its process id there as it scores (tests)
FLUSH_PAIRS = 4096  # the local loop's shard size (ScoreStore.score_pairs's flush_every)


class _Score(PoolActor):
    """Ray actor: the teacher, shipped once; each call scores one batch of pairs."""

    def __init__(self, teacher: Teacher, marks: str | None, threads: int) -> None:
        super().__init__(marks, threads)
        self.teacher = teacher

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        self.mark()
        scores = [
            np.asarray(self.teacher.score(list(q), list(d)), dtype=np.float32)
            for q, d in zip(batch["queries"], batch["docs"])
        ]
        return {"rows": batch["rows"], "scores": scores}  # the texts stay with the driver


def score_on_ray(
    teacher: Teacher,
    queries: list[str],
    docs: list[str],
    store_root: str | Path,
    batch_size: int = 32,
    progress: bool = True,
    info: dict[str, Any] | None = None,
    workers: int | None = None,
    flush_pairs: int = FLUSH_PAIRS,
) -> None:
    """Store every missing score of zip(queries, docs) for `teacher` (each member of an ensemble)
    by scoring on Ray (see above), at most `flush_pairs` pairs a task and a shard; `workers`
    actors (default: one per CPU Ray has). `score_with_store` then reads them all back."""
    from rankdistill.store.score_store import scoring_batches
    from rankdistill.store.scoring import stored_teachers

    for stored, store in stored_teachers(teacher, store_root, info):
        store.refresh()
        todo = store.missing(queries, docs)
        if not todo:
            continue
        batches = scoring_batches(stored, queries, docs, todo, batch_size, flush_pairs)
        items = [
            {"rows": b, "queries": [queries[i] for i in b], "docs": [docs[i] for i in b]}
            for b in batches
        ]
        scored = map_on_actors(items, _Score, {"teacher": stored}, PID_FILE, workers)
        bar = tqdm(total=len(todo), unit="pair", desc=f"teacher {store.fingerprint[:12]} (ray)",
                   disable=not progress)  # fmt: skip
        for batch in scored.iter_batches(batch_size=1, batch_format="numpy"):
            for rows, scores in zip(batch["rows"], batch["scores"]):
                rows = [int(i) for i in rows]
                store.put_many([queries[i] for i in rows], [docs[i] for i in rows], scores)
                bar.update(len(rows))
        bar.close()

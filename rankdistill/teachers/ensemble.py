"""A weighted ensemble of teachers with per-query calibration (DiSCo / MTARD style).

    s_E(q, d) = sum_t w_t * calibrate_t(s_t(q, .))[d]

Calibration is relative to the candidate list of each query, so the ensemble's score of a pair
depends on the other pairs of the same query in the call: call `score` with whole candidate
lists. Member scores are content-addressed and can go through a ScoreStore (`store_root`), so
changing weights or calibration never rescored anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rankdistill.errors import UserError
from rankdistill.fingerprints import make_fingerprint
from rankdistill.teachers.base import Teacher
from rankdistill.teachers.calibration import METHODS, calibrate


@dataclass
class Member:
    teacher: Teacher
    weight: float = 1.0
    calibration: str = "zscore"
    temperature: float = 1.0
    name: str = ""  # how reports call it, e.g. its spec


class EnsembleTeacher:
    listwise = True  # scores depend on the candidate list of each query in the call

    def __init__(self, members: list[Member], store_root: str | Path | None = None, batch_size: int = 32):
        if not members:
            raise UserError("an ensemble teacher needs at least one member")
        for member in members:
            if member.calibration not in METHODS:
                raise UserError(f"unknown calibration {member.calibration!r}: expected one of {', '.join(METHODS)}")
        self.members = members
        self.batch_size = batch_size
        self.progress = False
        self.stores = None
        if store_root is not None:
            self.attach_store(store_root, batch_size)
        self.fingerprint = make_fingerprint(
            "ensemble",
            members=[(m.teacher.fingerprint, m.weight, m.calibration, m.temperature) for m in members],
        )

    def attach_store(self, store_root: str | Path, batch_size: int | None = None, progress: bool = False) -> None:
        """Read and write member scores through the score store under `store_root`."""
        from rankdistill.store import ScoreStore

        self.stores = [ScoreStore(store_root, m.teacher.fingerprint, {"ensemble_member": True}) for m in self.members]
        self.batch_size = batch_size or self.batch_size
        self.progress = progress

    def member_scores(self, queries: list[str], docs: list[str]) -> list[np.ndarray]:
        """Raw scores of every member for every pair (read from the stores where possible)."""
        if self.stores is None:
            return [np.asarray(m.teacher.score(queries, docs), dtype=np.float32) for m in self.members]
        return [
            store.score_pairs(m.teacher, queries, docs, batch_size=self.batch_size, progress=self.progress)
            for m, store in zip(self.members, self.stores)
        ]

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        raw = self.member_scores(queries, docs)
        groups: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            groups.setdefault(query, []).append(i)
        combined = np.zeros(len(queries), dtype=np.float64)
        for member, scores in zip(self.members, raw):
            for rows in groups.values():
                combined[rows] += member.weight * calibrate(scores[rows], member.calibration, member.temperature)
        return combined.astype(np.float32)

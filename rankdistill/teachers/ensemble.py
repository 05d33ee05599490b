"""A weighted ensemble of teachers with per-query calibration (DiSCo / MTARD style).

    s_E(q, d) = sum_t w_t * calibrate_t(s_t(q, .))[d]

Calibration is relative to the candidate list of each query, so the ensemble's score of a pair
depends on the other pairs of the same query in the call: call `score` with whole candidate
lists. It is an `Ensemble` (teachers.base): scored through a store, each member's scores are
stored under the member's own fingerprint (rankdistill.store.scoring), so changing weights or
calibration never rescores anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint
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

    def __init__(self, members: list[Member]):
        if not members:
            raise UserError("an ensemble teacher needs at least one member")
        for member in members:
            if member.calibration not in METHODS:
                raise UserError(
                    f"unknown calibration {member.calibration!r}: expected one of {', '.join(METHODS)}"
                )
        self.members = members
        self.fingerprint = make_fingerprint(
            "ensemble",
            members=[
                (m.teacher.fingerprint, m.weight, m.calibration, m.temperature) for m in members
            ],
        )

    def combine(self, queries: list[str], member_scores: list[np.ndarray]) -> np.ndarray:
        groups: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            groups.setdefault(query, []).append(i)
        combined = np.zeros(len(queries), dtype=np.float64)
        for member, scores in zip(self.members, member_scores):
            for rows in groups.values():
                combined[rows] += member.weight * calibrate(
                    scores[rows], member.calibration, member.temperature
                )
        return combined.astype(np.float32)

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        return self.combine(
            queries,
            [np.asarray(m.teacher.score(queries, docs), dtype=np.float32) for m in self.members],
        )

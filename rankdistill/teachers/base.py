"""The interface every teacher (the slow, strong ranker being distilled) implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

SCALES = (
    "cosine",
    "raw",
)  # cosine: scores in [-1, 1], to be multiplied by the student's scale in training


def score_scale(teacher: object) -> str:
    """The scale a teacher declares (`score_scale`); "raw" when it declares none."""
    return getattr(teacher, "score_scale", "raw")


class Teacher(Protocol):
    fingerprint: str
    """A stable hash of everything that determines the scores (weights, max length, activation,
    prompt): two teachers with the same fingerprint must give the same scores."""

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """One float per pair, the pairs being zip(queries, docs)."""


@runtime_checkable
class Batched(Protocol):
    """A teacher that gains from seeing many pairs in one call (a bi-encoder or SPLADE teacher
    encodes each distinct text once per call): whoever scores through a store hands it up to
    `pairs_per_call` pairs at a time."""

    pairs_per_call: int


@runtime_checkable
class Ensemble(Protocol):
    """A teacher that combines its members' scores. Whoever scores through a store (the store's
    `score_with_store`) scores each member under the member's own fingerprint, then `combine`s,
    so reweighting or recalibrating an ensemble never rescores a pair."""

    fingerprint: str
    members: list  # Member objects: .teacher (a Teacher), .name

    def combine(self, queries: list[str], member_scores: list[np.ndarray]) -> np.ndarray:
        """The ensemble's scores of zip(queries, docs) from each member's raw scores of them."""

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray: ...

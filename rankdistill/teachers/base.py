"""The interface every teacher (the slow, strong ranker being distilled) implements."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Teacher(Protocol):
    fingerprint: str
    """A stable hash of everything that determines the scores (weights, max length, activation,
    prompt): two teachers with the same fingerprint must give the same scores."""

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """One float per pair, the pairs being zip(queries, docs)."""

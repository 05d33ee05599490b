"""Per-query score calibration, so teachers on different scales can be averaged.

Each function maps the scores one teacher gave to one query's candidate list onto a common scale:

    zscore       (s - mean) / std                  (std 0 -> all 0)
    minmax       (s - min) / (max - min)           (range 0 -> all 0)
    rank         1 - rank / (n - 1), best = 1      (ties share their mean rank)
    temperature  s / T                             (T set per teacher, e.g. to match list entropies, MTARD)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from rankdistill.core.errors import UserError

METHODS = ("zscore", "minmax", "rank", "temperature")


def calibrate(scores: np.ndarray, method: str, temperature: float = 1.0) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if method == "zscore":
        std = scores.std()
        return (scores - scores.mean()) / std if std > 0 else np.zeros_like(scores)
    if method == "minmax":
        span = scores.max() - scores.min() if scores.size else 0.0
        return (scores - scores.min()) / span if span > 0 else np.zeros_like(scores)
    if method == "rank":
        if scores.size < 2:
            return np.ones_like(scores)
        return 1.0 - (rankdata(-scores, method="average") - 1) / (scores.size - 1)
    if method == "temperature":
        if temperature <= 0:
            raise UserError(f"calibration temperature must be > 0, got {temperature}")
        return scores / temperature
    raise UserError(f"unknown calibration {method!r}: expected one of {', '.join(METHODS)}")

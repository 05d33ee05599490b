"""Paired significance on per-query metric values: t-test and randomisation (sign-flip) test."""

from __future__ import annotations

import numpy as np
from scipy.stats import ttest_rel


def paired_values(
    a: dict[str, dict[str, float]], b: dict[str, dict[str, float]], metric: str
) -> tuple[np.ndarray, np.ndarray]:
    queries = sorted(a.keys() & b.keys())
    return np.array([a[q][metric] for q in queries]), np.array([b[q][metric] for q in queries])


def randomisation_p(x: np.ndarray, y: np.ndarray, trials: int = 10_000, seed: int = 13) -> float:
    """Two-sided p of the mean difference under random sign flips of the per-query differences."""
    diff = x - y
    if not diff.any():
        return 1.0
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(trials, diff.size))
    null = np.abs((signs * diff).mean(axis=1))
    return float((1 + (null >= abs(diff.mean()) - 1e-12).sum()) / (trials + 1))


def compare(x: np.ndarray, y: np.ndarray, seed: int = 13) -> dict[str, float]:
    """x vs y on the same queries: mean difference, wins/losses/ties, t-test p, randomisation p."""
    diff = x - y
    t_p = float(ttest_rel(x, y).pvalue) if diff.any() else 1.0
    return {
        "delta": float(diff.mean()),
        "wins": int((diff > 0).sum()),
        "losses": int((diff < 0).sum()),
        "ties": int((diff == 0).sum()),
        "t_test_p": t_p,
        "randomisation_p": randomisation_p(x, y, seed=seed),
    }

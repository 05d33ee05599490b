"""Clustered synthetic embeddings for index benchmarks at scales no local corpus reaches.

Uniform random vectors make ANN meaningless (in 384 dimensions every point is about as far from
a query as every other), and well separated blobs make it trivial (one IVF cell holds all the
neighbours). Real text embeddings sit between: topics within topics, each varying along few
directions. So: `groups` super-topics; `clusters` topics drawn around them, with Zipf-like
sizes; within a topic, points vary along a topic-specific `rank`-dimensional subspace plus a
little isotropic noise; everything L2-normalised (cosine = inner product). Queries come from
the same process with fresh draws, so they are near the data but never copies of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MixtureSpec:
    dimension: int = 384
    groups: int = 64
    clusters: int = 4096
    rank: int = 24
    group_spread: float = 0.5  # topic centres' distance from their group centre, relative
    within_spread: float = 1.5  # scale of the in-topic variation, relative to the centre
    noise: float = 0.5  # isotropic noise, relative to the centre
    seed: int = 13


class ClusteredMixture:
    def __init__(self, spec: MixtureSpec = MixtureSpec()):
        self.spec = spec
        rng = np.random.default_rng(spec.seed)
        d = spec.dimension
        groups = _unit(rng.standard_normal((spec.groups, d)))
        owner = rng.integers(0, spec.groups, spec.clusters)
        self.centres = _unit(
            groups[owner] + spec.group_spread * _unit(rng.standard_normal((spec.clusters, d)))
        )
        self.weights = 1.0 / np.arange(1, spec.clusters + 1) ** 0.5  # Zipf-like topic sizes
        self.weights /= self.weights.sum()
        # random directions in 384-d are near-orthogonal, so no orthonormalisation is needed
        self.bases = (rng.standard_normal((spec.clusters, d, spec.rank)) / np.sqrt(d)).astype(
            np.float32
        )

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        spec = self.spec
        cluster = rng.choice(self.spec.clusters, size=n, p=self.weights)
        order = np.argsort(cluster, kind="stable")
        out = np.empty((n, spec.dimension), dtype=np.float32)
        bounds = np.searchsorted(cluster[order], np.arange(spec.clusters + 1))
        for c in np.nonzero(np.diff(bounds))[0]:
            rows = order[bounds[c] : bounds[c + 1]]
            coords = rng.standard_normal((len(rows), spec.rank)).astype(np.float32) * (
                spec.within_spread / np.sqrt(spec.rank)
            )
            noise = rng.standard_normal((len(rows), spec.dimension)).astype(np.float32) * (
                spec.noise / np.sqrt(spec.dimension)
            )
            out[rows] = self.centres[c] + coords @ self.bases[c].T + noise
        return _unit(out)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic_chunks(
    count: int, spec: MixtureSpec = MixtureSpec(), chunk_size: int = 100_000
) -> Iterator[np.ndarray]:
    """The base vectors, `chunk_size` rows at a time (deterministic for a given spec)."""
    mixture = ClusteredMixture(spec)
    rng = np.random.default_rng([spec.seed, 1])
    for start in range(0, count, chunk_size):
        yield mixture.sample(min(chunk_size, count - start), rng)


def synthetic_queries(count: int, spec: MixtureSpec = MixtureSpec()) -> np.ndarray:
    return ClusteredMixture(spec).sample(count, np.random.default_rng([spec.seed, 2]))

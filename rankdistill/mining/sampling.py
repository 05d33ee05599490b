"""Negative sampling from mined candidates: the hardest few plus a uniform sample of the rest.

Each sampled negative keeps how it was chosen and its inclusion probability, which unbiased
estimators over sampled candidate lists need (the "Sparse Logit Sampling" argument): a top pick
is certain (1.0); a random pick is one of `n_random` drawn uniformly without replacement from a
pool of `pool_size`, so each pool member is included with probability n_random / pool_size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.mining.candidates import Candidate

How = Literal["top", "random"]


@dataclass
class SampledNegative:
    doc_id: str
    how: How
    prob: float
    ranks: dict[str, int]


def query_rng(seed: int, query_id: str) -> np.random.Generator:
    """A generator that depends on (seed, query_id) only, not on the order queries come in."""
    digest = hashlib.sha256(query_id.encode("utf-8")).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def sample_negatives(
    candidates: list[Candidate],
    positives: Collection[str],
    *,
    query_id: str,
    n_top: int,
    n_random: int,
    top_depth: int,
    skip_top: int = 0,
    seed: int,
) -> list[SampledNegative]:
    """Top picks first (best rank first), then random picks (in candidate order).

    Candidates that are positives, or that any retriever ranked within the first `skip_top`
    ranks (the likeliest unlabelled positives), are never sampled. Of the rest, the first
    `n_top` with best rank <= `top_depth` are top picks, and `n_random` are drawn uniformly
    from all remaining ones (all of them, with probability 1.0, if there are no more).
    """
    if min(n_top, n_random, skip_top) < 0 or top_depth < 1:
        raise UserError(
            f"n_top, n_random and skip_top must be >= 0 and top_depth >= 1, got {n_top}, {n_random}, {skip_top}, {top_depth}"
        )
    if seed < 0:
        raise UserError(f"seed must be >= 0, got {seed}")
    eligible = [c for c in candidates if c.doc_id not in positives and c.best_rank > skip_top]
    top = [c for c in eligible if c.best_rank <= top_depth][:n_top]
    chosen = {c.doc_id for c in top}
    pool = [c for c in eligible if c.doc_id not in chosen]
    sampled = [SampledNegative(c.doc_id, "top", 1.0, dict(c.ranks)) for c in top]
    if n_random and pool:
        take = min(n_random, len(pool))
        prob = take / len(pool)
        picks = np.sort(query_rng(seed, query_id).choice(len(pool), size=take, replace=False))
        sampled += [
            SampledNegative(pool[i].doc_id, "random", prob, dict(pool[i].ranks))
            for i in picks.tolist()
        ]
    return sampled

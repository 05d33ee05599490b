"""A reranker fused with its first stage's scores, the weight chosen on dev queries.

    fused(q, d) = z_q(model(q, d)) + w * z_q(first(q, d))     z_q: standardised over q's reranked list

A small reranker (a distilled cross-encoder) keeps what the first stage knows (BM25's exact term
matches) for the price of the model alone: the first stage's scores come with its candidates.
This is the linear score interpolation of hybrid retrieval ("A Replication Study of Dense Passage
Retriever"; Xueguang Ma, Kai Sun, Ronak Pradeep, Jimmy Lin; arXiv:2104.05740), on per-query
z-scores so that the two scales need no calibration. `w` is chosen from a fixed grid on judged
dev queries and then applied unchanged to the test queries.

    curve = weight_curve(dev.qrels, dev_reranked, dev_bm25, (0.0, 0.5, 1.0))
    w = chosen_weight(curve)
    test_fused = fuse(test_reranked, test_bm25, w)
"""

from __future__ import annotations

import numpy as np

from rankdistill.metrics import evaluate_run
from rankdistill.retrieval import Results

# the grid `evaluate.fusion_weights` defaults to in the recipes
WEIGHTS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def standardised(hits: dict[str, float]) -> dict[str, float]:
    """One query's scores as z-scores over its list (a list of equal scores: all 0)."""
    values = np.array(list(hits.values()), dtype=np.float64)
    spread = values.std() or 1.0
    return {d: (v - values.mean()) / spread for d, v in hits.items()}


def fuse(model: Results, first: Results, weight: float) -> Results:
    """`model`'s lists rescored as z(model) + weight * z(first); every document of a model list
    must have a first-stage score (the model reranked the first stage's candidates)."""
    fused = {}
    for query_id, hits in model.items():
        z_model = standardised(hits)
        z_first = standardised({d: first[query_id][d] for d in hits})
        fused[query_id] = {d: z_model[d] + weight * z_first[d] for d in hits}
    return fused


def weight_curve(
    qrels: dict[str, dict[str, int]],
    model: Results,
    first: Results,
    weights: tuple[float, ...] | list[float],
    ignore_identical_ids: bool = False,
    relevance_level: int = 1,
) -> dict[float, float]:
    """nDCG@10 of the fused lists at each weight, on queries judged in `qrels`."""
    return {
        float(w): evaluate_run(
            qrels, fuse(model, first, w), ignore_identical_ids, relevance_level
        ).aggregate["nDCG@10"]
        for w in weights
    }


def chosen_weight(curve: dict[float, float]) -> float:
    """The weight of the best dev value; among equal values, the smallest (the least fusion)."""
    return max(curve, key=lambda w: (curve[w], -w))

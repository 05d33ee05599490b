"""nDCG@10, Recall@100, MRR@10 and MAP@100 with pytrec_eval, following BEIR's evaluation.

BEIR conventions kept: nDCG/MAP/Recall from pytrec_eval over the whole run; MRR@k is the
reciprocal rank of the first document judged > 0 within the top k; with `ignore_identical_ids`
a hit whose doc id equals its query id is dropped first (ArguAna). One difference, on purpose: a
judged query with no hits at all counts as 0 (trec_eval -c), where BEIR would skip it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytrec_eval

from rankdistill.retrieval.base import Results

# Display name -> (pytrec_eval measure, its key in the output, cut-off applied to the run).
METRICS: dict[str, tuple[str, str, int | None]] = {
    "nDCG@10": ("ndcg_cut.10", "ndcg_cut_10", None),
    "R@100": ("recall.100", "recall_100", None),
    "MRR@10": ("recip_rank", "recip_rank", 10),
    "MAP@100": ("map_cut.100", "map_cut_100", None),
}


@dataclass
class EvalResult:
    aggregate: dict[str, float]
    per_query: dict[str, dict[str, float]]
    num_queries: int

    def table_row(self) -> list[str]:
        return [f"{self.aggregate[name]:.4f}" for name in METRICS]


def drop_identical_ids(results: Results) -> Results:
    return {q: {d: s for d, s in hits.items() if d != q} for q, hits in results.items()}


def truncate(results: Results, k: int) -> Results:
    return {
        q: dict(sorted(hits.items(), key=lambda item: (-item[1], item[0]))[:k])
        for q, hits in results.items()
    }


def evaluate_run(
    qrels: dict[str, dict[str, int]],
    results: Results,
    ignore_identical_ids: bool = False,
    relevance_level: int = 1,
) -> EvalResult:
    """Score `results` against `qrels`; every judged query counts, with 0 where it has no hits."""
    if ignore_identical_ids:
        results = drop_identical_ids(results)
    judged = {
        q: docs
        for q, docs in qrels.items()
        if any(grade >= relevance_level for grade in docs.values())
    }
    per_query: dict[str, dict[str, float]] = {q: {name: 0.0 for name in METRICS} for q in judged}
    groups: dict[int | None, list[str]] = {}
    for name, (_, _, cut) in METRICS.items():
        groups.setdefault(cut, []).append(name)
    for cut, names in groups.items():
        run = truncate(results, cut) if cut else results
        run = {q: hits for q, hits in run.items() if q in judged and hits}
        if not run:
            continue
        measures = {METRICS[name][0] for name in names}
        evaluator = pytrec_eval.RelevanceEvaluator(
            judged, measures, relevance_level=relevance_level
        )
        for query_id, values in evaluator.evaluate(run).items():
            for name in names:
                per_query[query_id][name] = float(values[METRICS[name][1]])
    aggregate = {
        name: float(np.mean([v[name] for v in per_query.values()])) if per_query else 0.0
        for name in METRICS
    }
    return EvalResult(aggregate, per_query, len(per_query))

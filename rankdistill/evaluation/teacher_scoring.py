"""`rankdistill score`: teacher scores for a dataset's candidate lists, into the score store,
optionally sharded over processes (torchrun ranks), with a diagnostics report.

Candidates are a TREC run (e.g. a first stage's top-100) or the merged hits of retrievers.
With several processes each scores the missing pairs it owns (by key hash) into the same store;
after a barrier, rank 0 reads every score back and writes the report.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.data.beir import BeirDataset
from rankdistill.retrieval.base import Results

log = logging.getLogger(__name__)


def candidate_pairs(
    dataset: BeirDataset, candidates: Results, depth: int
) -> tuple[list[str], list[str]]:
    """(query ids, doc ids) of each query's top-`depth` candidates, best first, for the queries
    of `dataset`; unknown query or doc ids are a UserError."""
    query_ids, doc_ids = [], []
    unknown_docs = 0
    for query_id, hits in candidates.items():
        if query_id not in dataset.queries:
            raise UserError(
                f"candidates name query {query_id!r}, which {dataset.name}/{dataset.split} does not have"
            )
        for doc_id in sorted(hits, key=lambda d: -hits[d])[:depth]:
            if doc_id not in dataset.corpus:
                unknown_docs += 1
                continue
            query_ids.append(query_id)
            doc_ids.append(doc_id)
    if unknown_docs:
        log.warning("skipped %d candidates whose documents are not in the corpus", unknown_docs)
    if not query_ids:
        raise UserError("no candidate pairs to score")
    return query_ids, doc_ids


def score_candidates(
    dataset: BeirDataset,
    query_ids: list[str],
    doc_ids: list[str],
    teachers: dict[str, object],
    store_root: str | Path,
    batch_size: int = 32,
    shard: Shard | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray] | None:
    """{teacher name: scores in pair order}, or None on ranks other than 0 when sharded.

    Stored teachers (an ensemble's members) are scored shard by shard; after the barrier rank 0
    computes every teacher's scores from the store (an ensemble calibrates per query then)."""
    from rankdistill.store import score_with_store
    from rankdistill.store.scoring import score_shard

    shard = shard or Shard()
    queries = [dataset.queries[q] for q in query_ids]
    docs = [dataset.doc_text(d) for d in doc_ids]
    for teacher in teachers.values():
        score_shard(teacher, queries, docs, store_root, batch_size, progress, shard)
    shard.barrier()
    if not shard.is_main:
        return None
    return {
        name: score_with_store(t, queries, docs, store_root, batch_size, progress)
        for name, t in teachers.items()
    }


def by_query(query_ids: list[str], scores: np.ndarray) -> dict[str, np.ndarray]:
    grouped: dict[str, list[int]] = {}
    for i, query_id in enumerate(query_ids):
        grouped.setdefault(query_id, []).append(i)
    return {query_id: scores[rows] for query_id, rows in grouped.items()}


def reranked_results(query_ids: list[str], doc_ids: list[str], scores: np.ndarray) -> Results:
    results: Results = {}
    for query_id, doc_id, score in zip(query_ids, doc_ids, scores.tolist()):
        results.setdefault(query_id, {})[doc_id] = float(score)
    return results


PAIRED_METRIC = "nDCG@10"


def score_report(
    dataset: BeirDataset,
    candidates: Results,
    first_stage: str,
    query_ids: list[str],
    doc_ids: list[str],
    scores: dict[str, np.ndarray],
    folder: str | Path | None,
    settings: dict,
) -> str:
    """The markdown table (first stage vs each teacher as its reranker) and, under `folder`,
    diagnostics (histograms, spread, Kendall tau), per-teacher TREC runs and metrics.json."""
    from rankdistill.core.atomic import atomic_write_json, atomic_write_text
    from rankdistill.core.provenance import provenance
    from rankdistill.data.resolve import dataset_info
    from rankdistill.evaluation import safe_name
    from rankdistill.evaluation.significance import compare, paired_values
    from rankdistill.metrics import METRICS, evaluate_run, write_trec_run
    from rankdistill.teachers.diagnostics import write_diagnostics

    info = dataset_info(dataset.name)
    depth_runs = {
        first_stage: reranked_results(
            query_ids, doc_ids, np.asarray([candidates[q][d] for q, d in zip(query_ids, doc_ids)])
        )
    }
    depth_runs.update(
        {
            f"{first_stage} + {name}": reranked_results(query_ids, doc_ids, s)
            for name, s in scores.items()
        }
    )
    lines = [
        f"{dataset.name}/{dataset.split}: {len(set(query_ids))} queries, {len(query_ids)} candidate pairs",
        "",
    ]
    paired = f"vs {first_stage} ({PAIRED_METRIC})"
    lines += [
        "| system | "
        + " | ".join(METRICS)
        + f" | {paired} | wins / losses / ties | randomisation p |",
        "|---|" + "---|" * (len(METRICS) + 3),
    ]
    metrics, significance = {}, {}
    if dataset.qrels:
        first = None
        for name, run in depth_runs.items():
            result = evaluate_run(
                dataset.qrels, run, info.ignore_identical_ids, info.relevance_level
            )
            metrics[name] = result.aggregate
            cells = ["(reference)", "", ""]
            if first is None:
                first = result.per_query
            else:
                test = significance[name] = compare(
                    *paired_values(result.per_query, first, PAIRED_METRIC)
                )
                cells = [
                    f"{test['delta']:+.4f}",
                    f"{test['wins']} / {test['losses']} / {test['ties']}",
                    f"{test['randomisation_p']:.3g}",
                ]
            lines.append(f"| {name} | " + " | ".join([*result.table_row(), *cells]) + " |")
        lines += [
            "",
            f"Paired on per-query {PAIRED_METRIC}; randomisation: 10,000 sign flips, two-sided.",
        ]
    table = "\n".join(lines)
    if folder is not None:
        folder = Path(folder)
        for name, run in depth_runs.items():
            write_trec_run(run, folder / "runs" / f"{safe_name(name)}.trec", tag=safe_name(name))
        write_diagnostics({name: by_query(query_ids, s) for name, s in scores.items()}, folder)
        atomic_write_json(
            folder / "metrics.json",
            {
                "metrics": metrics,
                "vs_first_stage": significance,
                "settings": settings,
                "provenance": provenance(),
            },
        )
        atomic_write_text(
            folder / "results.md", table + "\n\nDiagnostics: [diagnostics.md](diagnostics.md)\n"
        )
    return table

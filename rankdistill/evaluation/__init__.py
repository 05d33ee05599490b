"""Evaluate retrievers on one split of a BEIR dataset: retrieve, score, save, tabulate."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankdistill.core.atomic import atomic_write_json, atomic_write_text
from rankdistill.core.distributed import Shard
from rankdistill.core.errors import InputError, UserError
from rankdistill.core.provenance import provenance
from rankdistill.data.beir import BeirDataset
from rankdistill.data.open import open_dataset
from rankdistill.data.resolve import dataset_info
from rankdistill.encoders.models import EncodingSettings
from rankdistill.metrics import METRICS, EvalResult, evaluate_run, write_trec_run
from rankdistill.retrieval import Results, build_retriever
from rankdistill.retrieval.base import search_by_rank
from rankdistill.teachers.base import Teacher

log = logging.getLogger(__name__)


@dataclass
class RetrieverEvaluation:
    dataset: str
    split: str
    retriever: str
    result: EvalResult
    index_seconds: float
    search_seconds: float
    results: Results


def evaluate(
    dataset: BeirDataset,
    system: Any,
    k: int = 100,
    name: str | None = None,
    shard: Shard | None = None,
) -> RetrieverEvaluation:
    """BEIR evaluation of any retriever on `dataset`: one path for everything that has
    `index(corpus)` and `search(queries, k)` (a retriever, an index from `load_index`), or a
    retriever spec (`bm25`, `dense:MODEL`, `sparse:MODEL`). Queries are searched split across the
    ranks of `shard` (every rank gets all results).

        rd.evaluate(rd.open_dataset("scifact"), "bm25").result.aggregate["nDCG@10"]
        rd.evaluate(rd.open_dataset("scifact"), rd.open_index("indexes/minilm-flat", model="all-MiniLM-L6-v2"))
    """
    if isinstance(system, str):
        name = name or system
        system = build_retriever(system)
    name = name or getattr(system, "spec", None) or type(system).__name__
    info = dataset_info(dataset.name)
    started = time.perf_counter()
    system.index(dataset.corpus)
    indexed = time.perf_counter()
    # One extra hit per query so that dropping the query itself still leaves k.
    results = search_by_rank(
        system, dataset.queries, k + 1 if info.ignore_identical_ids else k, shard
    )
    searched = time.perf_counter()
    result = evaluate_run(dataset.qrels, results, info.ignore_identical_ids, info.relevance_level)
    return RetrieverEvaluation(
        dataset.name, dataset.split, name, result, indexed - started, searched - indexed, results
    )


def evaluate_retriever(
    dataset: BeirDataset,
    spec: str,
    k: int = 100,
    settings: EncodingSettings | None = None,
    shard: Shard | None = None,
) -> RetrieverEvaluation:
    """Build the retriever `spec` names (its model encoding under `settings`) and `evaluate` it."""
    retriever = build_retriever(spec, settings)
    return evaluate(dataset, retriever, k, spec, shard)


def rerank(
    dataset: BeirDataset,
    results: Results,
    teacher: Teacher,
    depth: int = 100,
    store_root: str | Path | None = None,
    batch_size: int = 32,
    shard: Shard | None = None,
) -> Results:
    """Rescore each query's top-`depth` hits with `teacher` (through a ScoreStore when
    `store_root` is given, so a rerun scores nothing; with a `shard` of several ranks each
    first stores the pairs it owns) and return them in the teacher's order."""
    from rankdistill.store.scoring import score_on_every_rank

    query_ids, doc_ids = [], []
    for query_id, hits in results.items():
        for doc_id in sorted(hits, key=lambda d: -hits[d])[:depth]:
            query_ids.append(query_id)
            doc_ids.append(doc_id)
    queries = [dataset.queries[q] for q in query_ids]
    docs = [dataset.doc_text(d) for d in doc_ids]
    if store_root is None:
        scores = teacher.score(queries, docs)
    else:
        scores = score_on_every_rank(teacher, queries, docs, store_root, batch_size, shard=shard)
    reranked: Results = {query_id: {} for query_id in results}
    for query_id, doc_id, score in zip(query_ids, doc_ids, scores.tolist()):
        reranked[query_id][doc_id] = score
    return reranked


def format_table(evaluations: list[RetrieverEvaluation]) -> str:
    """A markdown table, one row per (dataset, retriever)."""
    header = ["dataset", "split", "retriever", *METRICS, "queries", "index s", "search s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for e in evaluations:
        row = [e.dataset, e.split, e.retriever, *e.result.table_row(), str(e.result.num_queries)]
        row += [f"{e.index_seconds:.1f}", f"{e.search_seconds:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def safe_name(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in spec)


def save_evaluation(evaluation: RetrieverEvaluation, output: Path, settings: dict) -> Path:
    """`<output>/<dataset>/<retriever>/{metrics.json,run.trec}`; returns that folder."""
    folder = output / safe_name(evaluation.dataset) / safe_name(evaluation.retriever)
    write_trec_run(evaluation.results, folder / "run.trec", tag=safe_name(evaluation.retriever))
    atomic_write_json(
        folder / "metrics.json",
        {
            "dataset": evaluation.dataset,
            "split": evaluation.split,
            "retriever": evaluation.retriever,
            "metrics": evaluation.result.aggregate,
            "num_queries": evaluation.result.num_queries,
            "index_seconds": round(evaluation.index_seconds, 3),
            "search_seconds": round(evaluation.search_seconds, 3),
            "settings": settings,
            "provenance": provenance(),
            "per_query": evaluation.result.per_query,
        },
    )
    return folder


def load_evaluation(folder: str | Path) -> dict[str, Any]:
    """What `save_evaluation` wrote in `folder` (one retriever on one dataset: the folder holding
    metrics.json), e.g. for paired tests across `rankdistill evaluate` outputs."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        raise UserError(
            f"{folder}: no metrics.json (name the <output>/<dataset>/<retriever> folder of `rankdistill evaluate --output`)"
        )
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(path, f"not JSON: {error.msg}", error.lineno) from None
    for key in ("dataset", "retriever", "per_query"):
        if key not in saved:
            raise InputError(path, "missing (not written by `rankdistill evaluate`)", field=key)
    return saved


def evaluate_many(
    datasets: list[str],
    retrievers: list[str],
    split: str | None = None,
    output: Path | None = None,
    k: int = 100,
    settings: EncodingSettings | None = None,
    data_root: str | Path | None = None,
    shard: Shard | None = None,
) -> list[RetrieverEvaluation]:
    """Every retriever on every dataset; writes per-run files and `results.md` under `output`.
    With a `shard` of several ranks each searches a block of the queries; rank 0 writes."""
    shard = shard or Shard()
    write = output is not None and shard.is_main
    settings = settings or EncodingSettings(backend="auto")
    recorded = {
        "split": split,
        "k": k,
        "batch_size": settings.batch_size,
        "max_length": settings.max_length,
        "precision": settings.precision,
        "backend": settings.backend,
    }
    evaluations: list[RetrieverEvaluation] = []
    for name in datasets:
        dataset = open_dataset(name, split, data_root)
        for spec in retrievers:
            log.info("evaluating %s on %s/%s", spec, dataset.name, dataset.split)
            evaluation = evaluate_retriever(dataset, spec, k, settings, shard)
            evaluations.append(evaluation)
            if write:
                save_evaluation(evaluation, output, recorded)
    if write:
        atomic_write_text(output / "results.md", format_table(evaluations) + "\n")
    return evaluations

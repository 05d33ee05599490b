"""The evaluate stage: every system of the run on the test split of every dataset in
`evaluate.datasets`, with what the report needs: aggregate and per-query metrics, query latency,
and teacher-student agreement.

A trained student is evaluated on each dataset through that dataset's index (the training
dataset in domain, the others out of domain), beside the same baselines. The teacher reranks
BM25 only on the training dataset when the run trains a student (elsewhere it is not the
question and costs most of the stage); an evaluation-only run reranks every dataset; with
`rerank_depth: 0` it reranks none (ArguAna's 1,406 test queries x 100 are 140k teacher pairs)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.core.atomic import atomic_write_text
from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.data import open_dataset
from rankdistill.data.open import corpus_texts
from rankdistill.encoders.models import EncodingSettings
from rankdistill.evaluation import (
    RetrieverEvaluation,
    evaluate_retriever,
    format_table,
    rerank,
    save_evaluation,
)
from rankdistill.metrics import evaluate_run
from rankdistill.retrieval import Results

LATENCY_QUERIES = {"student": 100, "rerank": 10}
log = logging.getLogger(__name__)


def evaluate_systems(
    config: Any,
    folder: Path,
    teacher_factory: Callable[[list[str]], Any] | None,
    store_root: Path,
    indexes: dict[str, Path],
    student: Path | None,
) -> dict[str, Any]:
    """`indexes`: dataset name (as in `evaluate.datasets`) -> the student's index over it."""
    from rankdistill.data.query_sources import restrict_to_half
    from rankdistill.data.resolve import colliding_names, dataset_info

    shard = (
        Shard.from_env()
    )  # under torchrun: searches and teacher scoring split by rank; rank 0 writes
    ev = config.evaluate
    settings = {
        "split": ev.split,
        "k": ev.k,
        "batch_size": ev.batch_size,
        "max_length": ev.max_length,
        "precision": ev.precision,
        "backend": ev.backend,
    }
    summary: dict[str, Any] = {
        "datasets": {},
        "cost": model_costs(config, student) if shard.is_main else {},
    }
    embedding_student = config.train is not None and config.train.student.distill == "embeddings"
    evaluations: list[RetrieverEvaluation] = []
    renamed = colliding_names(ev.datasets)  # two folders of one name file their outputs apart
    weights = FusionWeights(config, student, store_root, shard) if ev.fusion_weights else None
    for name in ev.datasets:
        dataset = restrict_to_half(open_dataset(name, ev.split, config.data_root), ev.query_half)
        info = dataset_info(dataset.name)
        systems: dict[str, RetrieverEvaluation] = {}
        for spec in ev.retrievers:
            systems[spec] = baseline_through_index(
                dataset, spec, indexes.get(name), ev
            ) or evaluate_retriever(dataset, spec, ev.k, encoding_settings(ev), shard)
        latency: dict[str, float] = {}
        fusion: dict[str, dict[str, Any]] = {}  # fused system -> its weight and dev curve
        agreement = None
        teacher_scores = None
        if (
            teacher_factory is not None
            and config.rerank_depth > 0
            and (config.train is None or name == config.dataset)
        ):
            first = (
                systems["bm25"]
                if "bm25" in systems
                else evaluate_retriever(dataset, "bm25", ev.k, shard=shard)
            )
            teacher = teacher_factory(corpus_texts(dataset)[1])
            started = time.perf_counter()
            reranked = rerank(
                dataset,
                first.results,
                teacher,
                config.rerank_depth,
                store_root,
                ev.batch_size,
                shard,
            )
            result = evaluate_run(
                dataset.qrels, reranked, info.ignore_identical_ids, info.relevance_level
            )
            name_rr = f"bm25 + teacher rerank@{config.rerank_depth}"
            systems[name_rr] = RetrieverEvaluation(
                dataset.name,
                dataset.split,
                name_rr,
                result,
                0.0,
                time.perf_counter() - started,
                reranked,
            )
            teacher_scores = reranked
            if shard.is_main:
                latency["bm25 + teacher rerank (ms/query, cold)"] = rerank_latency(
                    dataset, teacher, config.rerank_depth
                )
        if (
            student is not None
            and config.train is not None
            and config.train.student.kind == "cross-encoder"
        ):
            first = (
                systems["bm25"]
                if "bm25" in systems
                else evaluate_retriever(dataset, "bm25", ev.k, shard=shard)
            )
            reranker = student_reranker(config, student, ev.batch_size)
            started = time.perf_counter()
            reranked = rerank(
                dataset,
                first.results,
                reranker,
                config.rerank_depth,
                store_root,
                ev.batch_size,
                shard,
            )
            result = evaluate_run(
                dataset.qrels, reranked, info.ignore_identical_ids, info.relevance_level
            )
            name_rr = f"student rerank of bm25@{config.rerank_depth}"
            systems[name_rr] = RetrieverEvaluation(
                dataset.name,
                dataset.split,
                name_rr,
                result,
                0.0,
                time.perf_counter() - started,
                reranked,
            )
            if shard.is_main:
                latency["bm25 + student rerank (ms/query, cold)"] = rerank_latency(
                    dataset, reranker, config.rerank_depth
                )
                if teacher_scores is not None:
                    agreement = reranked_agreement(teacher_scores, reranked)
            if ev.fusion_weights:
                fusing = {name_rr: (reranker, reranked)}
                if teacher_scores is not None:
                    fusing[f"bm25 + teacher rerank@{config.rerank_depth}"] = (
                        teacher,
                        teacher_scores,
                    )
                for reranked_name, (model, run) in fusing.items():
                    choice = weights.choice(reranked_name, model)
                    evaluation = fused_system(dataset, first, reranked_name, run, choice["weight"])
                    systems[evaluation.retriever] = evaluation
                    fusion[evaluation.retriever] = choice
        for spec in ev.retrievers:
            if (
                spec.startswith("dense:")
                and shard.is_main
                and (config.train is None or name == config.dataset or embedding_student)
            ):
                latency[f"{spec} query encoding (ms/query)"] = query_encoding_latency(
                    spec.partition(":")[2], dataset, ev
                )
        index = indexes.get(name)
        if index is not None and student is not None:
            from rankdistill.evaluation.indexes import evaluate_index
            from rankdistill.indexes.load import open_index

            search_index = open_index(
                index, model=str(student), encoding=EncodingSettings(ev.batch_size)
            )
            evaluation = evaluate_index(dataset, search_index, ev.k, shard)
            evaluation.retriever = f"student ({config.index.spec})"
            systems[evaluation.retriever] = evaluation
            if shard.is_main:  # timings and agreement: one process, as a user's query would run
                if name == config.dataset or embedding_student:
                    latency["student + index (ms/query)"] = student_latency(dataset, search_index)
                    latency["student query encoding (ms/query)"] = query_encoding_latency(
                        str(student), dataset, ev
                    )
                if teacher_scores is not None:
                    agreement = teacher_student_agreement(dataset, teacher_scores, search_index)
                dims = config.train.student.matryoshka_dims if config.train is not None else []
                if dims:
                    systems.update(matryoshka_systems(dataset, config, str(student), dims))
        label = renamed.get(name, dataset.name)
        for evaluation in systems.values():
            evaluation.dataset = label  # its output folder and table row
        if shard.is_main:
            for system, evaluation in systems.items():
                save_evaluation(
                    evaluation,
                    folder,
                    {**settings, **({"fusion": fusion[system]} if system in fusion else {})},
                )
        evaluations += systems.values()
        summary["datasets"][label] = {
            "split": dataset.split,
            "systems": {
                s: {
                    "metrics": e.result.aggregate,
                    "per_query": e.result.per_query,
                    "search_seconds": round(e.search_seconds, 3),
                }
                for s, e in systems.items()
            },
            "latency": latency,
            "fusion": fusion,
            "teacher_student_kendall_tau": agreement,
        }
    if shard.is_main:
        atomic_write_text(folder / "results.md", format_table(evaluations) + "\n")
    return summary


class FusionWeights:
    """The weight of each reranker's fusion with BM25 (rankdistill/evaluation/fusion.py): the best
    of `evaluate.fusion_weights` on the student's dev queries (judged training queries it never
    trained on) reranked the same way, chosen once and then applied on every evaluated dataset."""

    def __init__(self, config: Any, student: Path | None, store_root: Path, shard: Shard):
        self.config, self.student, self.store_root, self.shard = config, student, store_root, shard
        self.chosen: dict[str, dict[str, Any]] = {}
        self.dev: tuple[Any, Results] | None = None

    def dev_set(self) -> tuple[Any, Results]:
        """The dev queries (their judgements and corpus) and BM25's ranking of them."""
        from rankdistill.pipeline.config import training_split
        from rankdistill.training.teacher import restricted

        if self.dev is None:
            config = self.config
            record = json.loads((Path(self.student) / "rankdistill_train.json").read_text())
            dev_ids = list((record.get("dev") or {}).get("query_ids") or [])
            split = training_split(config)
            dev = restricted(open_dataset(config.dataset, split, config.data_root), set(dev_ids))
            if not dev_ids or len(dev.queries) < len(dev_ids):
                raise UserError(
                    f"evaluate.fusion_weights: the weight is chosen on the student's dev queries, and "
                    f"{len(dev.queries)} of its {len(dev_ids)} are judged {config.dataset} {split} queries "
                    "(generated dev queries have no judgements to choose by)"
                )
            first = evaluate_retriever(dev, "bm25", config.evaluate.k, shard=self.shard)
            self.dev = dev, first.results
        return self.dev

    def choice(self, reranked_name: str, model: Any) -> dict[str, Any]:
        """{weight, dev_curve, dev_queries} of the reranker named `reranked_name`."""
        from rankdistill.data.resolve import dataset_info
        from rankdistill.evaluation.fusion import chosen_weight, weight_curve

        if reranked_name not in self.chosen:
            config = self.config
            dev, dev_first = self.dev_set()
            dev_reranked = rerank(
                dev,
                dev_first,
                model,
                config.rerank_depth,
                self.store_root,
                config.evaluate.batch_size,
                self.shard,
            )
            info = dataset_info(dev.name)
            curve = weight_curve(
                dev.qrels,
                dev_reranked,
                dev_first,
                config.evaluate.fusion_weights,
                info.ignore_identical_ids,
                info.relevance_level,
            )
            weight = chosen_weight(curve)
            log.info(
                "%s: fusion weight %g chosen on %d dev queries",
                reranked_name,
                weight,
                len(dev.queries),
            )
            self.chosen[reranked_name] = {
                "weight": weight,
                "dev_curve": {f"{w:g}": round(v, 6) for w, v in curve.items()},
                "dev_queries": len(dev.queries),
            }
        return self.chosen[reranked_name]


def fused_system(
    dataset: Any,
    first: RetrieverEvaluation,
    reranked_name: str,
    reranked: Results,
    weight: float,
) -> RetrieverEvaluation:
    """`reranked` (a reranking of `first`) fused with `first` at `weight`, evaluated."""
    from rankdistill.data.resolve import dataset_info
    from rankdistill.evaluation.fusion import fuse

    info = dataset_info(dataset.name)
    fused = fuse(reranked, first.results, weight)
    result = evaluate_run(dataset.qrels, fused, info.ignore_identical_ids, info.relevance_level)
    name = f"{reranked_name} fused with bm25"
    return RetrieverEvaluation(dataset.name, dataset.split, name, result, 0.0, 0.0, fused)


def encoding_settings(ev: Any) -> EncodingSettings:
    """How the run's `evaluate:` section encodes with dense and sparse models."""
    return EncodingSettings(ev.batch_size, ev.max_length, None, ev.precision, ev.backend)


def baseline_through_index(
    dataset: Any, spec: str, index: Path | None, ev: Any
) -> RetrieverEvaluation | None:
    """A `dense:MODEL` baseline searched through the run's exact index when MODEL built it with the
    baseline's own settings (equal encoder fingerprints: the very vectors the baseline would
    encode), as query-side runs have it; None otherwise. Saves a second encoding of the corpus."""
    if index is None or not spec.startswith("dense:"):
        return None
    from rankdistill.evaluation.indexes import evaluate_index
    from rankdistill.indexes.load import open_index
    from rankdistill.indexes.manifest import read_manifest
    from rankdistill.retrieval.encode import load_encoder

    manifest = read_manifest(index)
    model = spec.partition(":")[2]
    if (
        manifest["spec"] != "Flat"
        or manifest["model"]["type"] != "dense"
        or manifest["model"]["name"] != model
    ):
        return None
    encoder = load_encoder(model, False, encoding_settings(ev))
    if encoder.fingerprint != manifest["model"]["fingerprint"]:
        return None
    evaluation = evaluate_index(
        dataset, open_index(index, model=model, encoding=EncodingSettings(ev.batch_size)), ev.k
    )
    evaluation.retriever = spec
    return evaluation


def matryoshka_systems(
    dataset: Any, config: Any, student: str, dims: list[int]
) -> dict[str, RetrieverEvaluation]:
    """The student and each zero-shot dense baseline at every Matryoshka dimension, exact search."""
    from rankdistill.pipeline.matryoshka import evaluate_dims

    ev = config.evaluate
    index = config.index
    evaluations = evaluate_dims(
        dataset, student, "student", dims, ev.k, ev.batch_size, index.max_length, index.precision
    )
    for spec in ev.retrievers:
        if spec.startswith("dense:"):
            evaluations += evaluate_dims(
                dataset,
                spec.partition(":")[2],
                spec,
                dims,
                ev.k,
                ev.batch_size,
                ev.max_length,
                ev.precision,
            )
    return {e.retriever: e for e in evaluations}


def student_reranker(config: Any, student: Path, batch_size: int) -> Any:
    """A cross-encoder student as the teachers' scoring interface (raw logits, torch backend), at
    the max length and precision it was trained with."""
    from rankdistill.teachers import build_teacher

    train = config.train
    return build_teacher(
        f"cross-encoder:{student}",
        encoding=EncodingSettings(
            batch_size, train.student.max_length, precision=train.trainer.precision
        ),
    )


def reranked_agreement(
    teacher_results: dict[str, dict[str, float]], student_results: dict[str, dict[str, float]]
) -> float:
    """Mean per-query Kendall tau between the teacher's and the student's scores of the same candidates."""
    from rankdistill.teachers.diagnostics import mean_kendall_tau

    teacher_lists = {q: np.array([hits[d] for d in hits]) for q, hits in teacher_results.items()}
    student_lists = {
        q: np.array([student_results[q][d] for d in hits]) for q, hits in teacher_results.items()
    }
    return mean_kendall_tau(teacher_lists, student_lists)


def query_encoding_latency(model: str, dataset: Any, ev: Any) -> float:
    """Encoding one query at a time (a dense model, or an asymmetric student's query route), ms."""
    from rankdistill.retrieval.base import clear_memo
    from rankdistill.retrieval.encode import load_encoder

    encoder = load_encoder(model, False, replace(encoding_settings(ev), batch_size=1))
    texts = [dataset.queries[q] for q in list(dataset.queries)[: LATENCY_QUERIES["student"]]]
    encoder.encode_queries(["warm-up query"])
    clear_memo()
    started = time.perf_counter()
    for text in texts:
        encoder.encode_queries([text])
    return 1000 * (time.perf_counter() - started) / len(texts)


def model_costs(config: Any, student: Path | None) -> dict[str, dict[str, Any]]:
    """Parameters and MB on disk of the run's model teachers, its student and its dense baselines."""
    from rankdistill.evaluation.cost import model_size
    from rankdistill.pipeline.config import member_models

    models = {
        f"teacher {config.teacher.members[i].teacher}": model
        for i, model in member_models(config.teacher)
    }
    if config.train is not None and config.train.student.distill == "embeddings":
        models[f"teacher {config.train.student.teacher}"] = config.train.student.teacher
    if student is not None and (student / "rankdistill_train.json").is_file():
        models["student"] = str(student)
    for spec in config.evaluate.retrievers:
        if spec.startswith("dense:"):
            models[spec] = spec.partition(":")[2]
    costs = {}
    for role, model in models.items():
        try:
            costs[role] = model_size(model)
        except Exception as exc:  # a size is a report detail: never fail a run over it
            log.warning("no size for %s: %s", model, exc)
    return costs


def rerank_latency(
    dataset: Any, teacher: Any, depth: int, queries: int = LATENCY_QUERIES["rerank"]
) -> float:
    """BM25 search plus teacher scoring of its top `depth`, one query at a time, nothing cached
    (ms/query over the dataset's first `queries` queries)."""
    from rankdistill.retrieval import build_retriever
    from rankdistill.retrieval.base import clear_memo

    bm25 = build_retriever("bm25")
    bm25.index(dataset.corpus)
    query_ids = list(dataset.queries)[:queries]
    total = 0.0
    for query_id in query_ids:
        clear_memo()
        started = time.perf_counter()
        hits = bm25.search({query_id: dataset.queries[query_id]}, depth)[query_id]
        docs = [dataset.doc_text(d) for d in hits]
        teacher.score([dataset.queries[query_id]] * len(docs), docs)
        total += time.perf_counter() - started
    return 1000 * total / len(query_ids)


def student_latency(dataset: Any, search_index: Any) -> float:
    """Query encoding plus index search, one query at a time."""
    from rankdistill.retrieval.base import clear_memo

    query_ids = list(dataset.queries)[: LATENCY_QUERIES["student"]]
    search_index.search({"warm-up": "warm-up query"}, 10)  # loads the model: not query latency
    clear_memo()
    started = time.perf_counter()
    for query_id in query_ids:
        search_index.search({query_id: dataset.queries[query_id]}, 10)
    return 1000 * (time.perf_counter() - started) / len(query_ids)


def teacher_student_agreement(
    dataset: Any, teacher_results: dict[str, dict[str, float]], search_index: Any
) -> float:
    """Mean per-query Kendall tau between teacher and student scores of the reranked candidates.
    The student's scores come from its index: the document vectors it already holds, not a second
    encoding of the corpus."""
    from rankdistill.teachers.diagnostics import mean_kendall_tau

    candidates = {query_id: list(hits) for query_id, hits in teacher_results.items()}
    student_lists = search_index.score_candidates(dataset.queries, candidates, dataset.doc_text)
    teacher_lists = {
        query_id: np.array([hits[d] for d in candidates[query_id]])
        for query_id, hits in teacher_results.items()
    }
    return mean_kendall_tau(teacher_lists, student_lists)

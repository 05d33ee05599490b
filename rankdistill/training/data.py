"""From a `rankdistill mine` training set to the rows sentence-transformers' trainer reads, and
the dev split evaluated during training.

Rows: columns `query, positive, negative_1 .. negative_n` (texts; documents as BEIR's
"title text") and `label` = the teacher's n + 1 scores in the same order, positive first.

- n is fixed per run (`data.negatives`). A record with more negatives keeps a uniform sample of n
  of them, drawn with `random.Random(f"{seed}:{query_id}")` and kept in the record's order, so the
  same seed gives the same rows on every rank and every rerun (which resume relies on). A record
  with fewer than n negatives is skipped and counted (`skipped_few_negatives`), never padded.
- A query with several positives gives one row per positive, all with the same negatives.
  Positives relabelled by false-negative control count as positives. `data.positives` caps the
  rows of a query: its positives the teacher scores highest (ties in record order). NFCorpus
  judges ~40 documents per training query, most weakly relevant: uncapped, its rows are mostly
  weak positives, many of which the teacher ranks below the hard negatives.

Dev split: SciFact (and any dataset without one) has no dev qrels, so `dev.queries` training
queries are carved out deterministically: the ones with the smallest sha256("rankdistill-dev:" +
query_id), independent of the seed and of the file's order, so every run on the same training set
holds out the same queries. They are removed from training; their ids are recorded. With
`dev.split` set, that qrels split is the dev set instead (never the test split: it is refused).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.core.errors import InputError, UserError
from rankdistill.core.textfile import read_text
from rankdistill.data.beir import BeirDataset
from rankdistill.mining.records import TrainingRecord, meta_path, read_training_set

log = logging.getLogger(__name__)
NEAR_UNIFORM, NEAR_ONE_HOT = (
    0.98,
    0.02,
)  # median normalised entropy of the teacher's lists that trains warn about
SHORT_LIST_WARNING = (
    0.05  # warn when more than this share of the records is skipped for short lists
)

DEV_SALT = "rankdistill-dev:"


@dataclass
class DevSet:
    """Queries, corpus and judgements for ST's InformationRetrievalEvaluator."""

    source: str  # "carved from <split>" or "<split> split"
    queries: dict[str, str]
    corpus: dict[str, str]
    relevant: dict[str, set[str]]
    # a reranker's dev set: each query's first-stage candidates, best first (their texts in corpus)
    candidates: dict[str, list[str]] | None = None
    # dev.track_judged: the same queries' judgements from a qrels split, measured beside the
    # teacher's for a study of how well the teacher's dev signal tracks them; never selects anything
    tracked: dict[str, set[str]] | None = None


@dataclass
class TrainingRows:
    rows: list[dict[str, Any]]
    counts: dict[str, int]
    dev_query_ids: list[str] = field(default_factory=list)


def dev_order(query_id: str, seed: int | None = None) -> str:
    salt = DEV_SALT if seed is None else f"{DEV_SALT}{seed}:"
    return hashlib.sha256(f"{salt}{query_id}".encode()).hexdigest()


def carve_dev_ids(query_ids: list[str], count: int, seed: int | None = None) -> list[str]:
    """The `count` query ids that come first in the fixed hash order (sorted by that order); with
    a `seed` (dev.resample), an order of that seed's own, so seeds hold out different queries."""
    return sorted(query_ids, key=lambda q: dev_order(q, seed))[:count]


def load_records(path: str | Path, dataset: BeirDataset) -> list[TrainingRecord]:
    """The training set, checked against the dataset it claims to come from."""
    records = read_training_set(path)
    if not records:
        raise UserError(f"{path}: the training set has no records")
    meta = meta_path(path)
    if meta.is_file():
        _check_sidecar(Path(path), meta, len(records), dataset.name)
    for record in records:
        for doc_id in [p.doc_id for p in record.positives] + [n.doc_id for n in record.negatives]:
            if doc_id not in dataset.corpus:
                raise UserError(
                    f"{path}: query {record.query_id!r} names document {doc_id!r}, which is not in {dataset.name}'s corpus"
                )
    return records


def _check_sidecar(path: Path, meta: Path, count: int, dataset: str) -> None:
    """The sidecar `rankdistill mine` wrote beside a training set agrees with it: the dataset it
    was mined from, and its record count (a file cut at a line end parses, but holds fewer)."""
    try:
        sidecar = json.loads(read_text(meta))
    except json.JSONDecodeError as exc:
        raise InputError(meta, f"invalid JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(sidecar, dict):
        raise InputError(meta, f"expected a JSON object, got {type(sidecar).__name__}")
    config = sidecar.get("config", {})
    if not isinstance(config, dict):
        raise InputError(meta, f"expected an object, got {type(config).__name__}", None, "config")
    written = sidecar.get("records")
    if written is not None and (not isinstance(written, int) or isinstance(written, bool)):
        raise InputError(meta, f"expected a count, got {type(written).__name__}", None, "records")
    if written is not None and written != count:
        raise UserError(
            f"{path}: holds {count} record(s), but {meta.name} recorded {written} when it was "
            "written: the file was cut short or changed since; mine it again"
        )
    made_from = config.get("dataset")
    if made_from and made_from != dataset:
        raise UserError(
            f"{path}: mined from dataset {made_from!r}, but the config trains on {dataset!r} (data.dataset)"
        )


def teacher_factor(config: Any, records: list[TrainingRecord]) -> float:
    """What the teacher's scores are multiplied by in the rows: `data.teacher_scale` if set; else
    the loss spec's largest `scale` when the records' teacher declared cosine scores, else 1."""
    if config.data.teacher_scale is not None:
        return float(config.data.teacher_scale)
    if not records or any(r.teacher_scale != "cosine" for r in records) or config.loss is None:
        return 1.0
    from rankdistill.losses import parse_loss_spec

    scales = [
        float(params["scale"])
        for _, params in parse_loss_spec(config.loss).values()
        if "scale" in params
    ]
    factor = max(scales, default=1.0)
    if factor != 1.0:
        log.info(
            "the teacher's scores are cosines: multiplied by %g, the student's scale (data.teacher_scale to choose)",
            factor,
        )
    return factor


def normalised_entropies(labels: list[list[float]], temperature: float = 1.0) -> np.ndarray:
    """Per list: the entropy of softmax(scores / temperature) over log(list length), in [0, 1]
    (1: uniform, the list teaches nothing; 0: one-hot)."""
    scores = np.asarray(labels, dtype=np.float64) / temperature
    if scores.ndim != 2 or scores.shape[1] < 2:
        return np.zeros(0)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return -(p * np.log(np.clip(p, 1e-300, None))).sum(axis=1) / np.log(scores.shape[1])


def check_teacher_spread(labels: list[list[float]], loss: Any) -> float | None:
    """Warn when the teacher's lists, at the loss's teacher temperature, are near-uniform (median
    normalised entropy above NEAR_UNIFORM) or near-one-hot (below NEAR_ONE_HOT); returns the median."""
    if not labels or loss is None:
        return None
    from rankdistill.losses import parse_loss_spec

    parts = parse_loss_spec(loss)
    temperatures = [
        float(p.get("teacher_temperature", p.get("temperature", 1.0))) for _, p in parts.values()
    ]
    median = float(
        np.median(normalised_entropies(labels, temperatures[0] if temperatures else 1.0))
    )
    if median > NEAR_UNIFORM:
        log.warning(
            "the teacher's lists are near-uniform (median normalised entropy %.3f of its softmax): a list loss then teaches the "
            "student to flatten its lists. Put the teacher on the student's scale (data.teacher_scale) or lower its temperature",
            median,
        )
    elif median < NEAR_ONE_HOT:
        log.warning(
            "the teacher's lists are near one-hot (median normalised entropy %.3f): a list loss then sees only its top document; "
            "raise the teacher temperature or lower data.teacher_scale",
            median,
        )
    return median


def build_rows(
    records: list[TrainingRecord],
    dataset: BeirDataset,
    negatives: int,
    seed: int,
    exclude: set[str] = frozenset(),
    positives: int | None = None,
    with_ids: bool = False,
    teacher_factor: float = 1.0,
) -> TrainingRows:
    """The rows described above; `with_ids` adds `query_id` and `doc_ids` (positive first, the
    label's order) for trainers that look documents up by id (query-side training);
    `teacher_factor` multiplies every teacher score."""
    counts = {
        "records": len(records),
        "held_out_for_dev": 0,
        "skipped_few_negatives": 0,
        "skipped_no_positive": 0,
        "rows": 0,
    }
    rows = []
    for record in records:
        if record.query_id in exclude:
            counts["held_out_for_dev"] += 1
            continue
        if len(record.negatives) < negatives:
            counts["skipped_few_negatives"] += 1
            continue
        if not record.positives:
            counts["skipped_no_positive"] += 1
            continue
        picked = sorted(
            random.Random(f"{seed}:{record.query_id}").sample(
                range(len(record.negatives)), negatives
            )
        )
        chosen = [record.negatives[i] for i in picked]
        negative_texts = {
            f"negative_{j + 1}": dataset.doc_text(n.doc_id) for j, n in enumerate(chosen)
        }
        kept = (
            record.positives
            if positives is None
            else sorted(record.positives, key=lambda p: -p.score)[:positives]
        )
        for positive in kept:
            rows.append(
                {
                    "query": record.query,
                    "positive": dataset.doc_text(positive.doc_id),
                    **negative_texts,
                    "label": [
                        teacher_factor * positive.score,
                        *(teacher_factor * n.score for n in chosen),
                    ],
                    **(
                        {
                            "query_id": record.query_id,
                            "doc_ids": [positive.doc_id, *(n.doc_id for n in chosen)],
                        }
                        if with_ids
                        else {}
                    ),
                }
            )
    counts["rows"] = len(rows)
    if rows and counts["skipped_few_negatives"] > SHORT_LIST_WARNING * counts["records"]:
        # false-negative control leaves some queries too few negatives, and their rows are lost
        # (on SciFact a quarter of the queries: evaluation/studies/12-distillation_study.md section 7)
        log.warning(
            "%d of %d training queries have fewer than %d negatives and are skipped; mine more (mine.n_top) or lower data.negatives",
            counts["skipped_few_negatives"],
            counts["records"],
            negatives,
        )
    if not rows:
        raise UserError(
            f"no training rows: {counts['skipped_few_negatives']} of {counts['records']} records have fewer than "
            f"{negatives} negatives (lower data.negatives or mine more), {counts['held_out_for_dev']} held out for dev"
        )
    return TrainingRows(rows, counts)


def dev_from_records(
    records: list[TrainingRecord],
    dataset: BeirDataset,
    query_ids: list[str],
    corpus: str,
    distractors: int,
    seed: int,
) -> DevSet:
    """A dev set of training queries held out from training, judged by `dataset`'s qrels."""
    by_id = {r.query_id: r for r in records}
    queries = {q: by_id[q].query for q in query_ids}
    relevant = {
        q: {d for d, grade in dataset.qrels.get(q, {}).items() if grade > 0 and d in dataset.corpus}
        for q in query_ids
    }
    mined = {
        d
        for q in query_ids
        for d in [*(p.doc_id for p in by_id[q].positives), *(n.doc_id for n in by_id[q].negatives)]
    }
    return DevSet(
        f"carved from {dataset.split}",
        queries,
        _dev_corpus(dataset, relevant, mined, corpus, distractors, seed),
        relevant,
    )


def dev_from_teacher(
    records: list[TrainingRecord],
    dataset: BeirDataset,
    query_ids: list[str],
    top: int,
    corpus: str,
    distractors: int,
    seed: int,
) -> DevSet:
    """A dev set for queries without judgements: held-out queries whose relevant documents are the
    teacher's top `top` of their mined list (its scores, ties in list order). Its nDCG@10 is the
    student's agreement with the teacher on queries it did not train on; no judgement is read."""
    by_id = {r.query_id: r for r in records}
    queries = {q: by_id[q].query for q in query_ids}
    relevant, mined = {}, set()
    for q in query_ids:
        scored = [(p.doc_id, p.score) for p in by_id[q].positives] + [
            (n.doc_id, n.score) for n in by_id[q].negatives
        ]
        ranked = [d for d, _ in sorted(scored, key=lambda pair: -pair[1])]
        relevant[q] = set(ranked[:top])
        mined.update(ranked)
    return DevSet(
        f"carved from {dataset.split}, judged by the teacher's top {top}",
        queries,
        _dev_corpus(dataset, relevant, mined, corpus, distractors, seed),
        relevant,
    )


def dev_from_split(
    dataset: BeirDataset, count: int, corpus: str, distractors: int, seed: int
) -> DevSet:
    """A dev set from a qrels split of its own (`dataset` loaded with that split)."""
    judged = [q for q in dataset.queries if any(g > 0 for g in dataset.qrels.get(q, {}).values())]
    query_ids = carve_dev_ids(judged, count)
    queries = {q: dataset.queries[q] for q in query_ids}
    relevant = {
        q: {d for d, g in dataset.qrels[q].items() if g > 0 and d in dataset.corpus}
        for q in query_ids
    }
    return DevSet(
        f"{dataset.split} split",
        queries,
        _dev_corpus(dataset, relevant, set(), corpus, distractors, seed),
        relevant,
    )


def _dev_corpus(
    dataset: BeirDataset,
    relevant: dict[str, set[str]],
    mined: set[str],
    corpus: str,
    distractors: int,
    seed: int,
) -> dict[str, str]:
    if corpus == "full":
        ids = list(dataset.corpus)
    else:
        chosen = set(mined).union(*relevant.values())
        rest = sorted(set(dataset.corpus) - chosen)
        chosen |= set(random.Random(seed).sample(rest, min(distractors, len(rest))))
        ids = sorted(chosen)
    return {doc_id: dataset.doc_text(doc_id) for doc_id in ids}


def with_bm25_candidates(dev: DevSet, dataset: BeirDataset, depth: int) -> DevSet:
    """`dev` as a reranker's dev set: each query's BM25 top `depth` over the whole corpus of
    `dataset`, as a cross-encoder student reranks at evaluation (its corpus: those documents)."""
    from rankdistill.retrieval import build_retriever

    bm25 = build_retriever("bm25")
    bm25.index(dataset.corpus)
    hits = bm25.search(dev.queries, depth)
    candidates = {q: sorted(found, key=lambda d: -found[d])[:depth] for q, found in hits.items()}
    corpus = {d: dataset.doc_text(d) for q in candidates for d in candidates[q]}
    return dataclasses.replace(dev, corpus=corpus, candidates=candidates)

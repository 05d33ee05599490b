"""Build a distillation training set: mine candidates, sample negatives, score every pair with
the teacher through the score store, and control false negatives."""

from __future__ import annotations

import logging
from pathlib import Path

from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.data.beir import BeirDataset
from rankdistill.encoders.models import EncodingSettings
from rankdistill.mining.candidates import mine_candidates, positive_ids
from rankdistill.mining.false_negatives import (
    Action,
    Reference,
    check_rules,
    control_false_negatives,
)
from rankdistill.mining.records import MiningResult, Negative, Positive, TrainingRecord
from rankdistill.mining.sampling import SampledNegative, sample_negatives
from rankdistill.store.scoring import score_on_every_rank
from rankdistill.teachers.base import Teacher, score_scale

log = logging.getLogger(__name__)

COUNTS = (
    "queries",
    "queries_without_positives",
    "queries_without_negatives",
    "records",
    "positives",
    "positives_not_in_corpus",
    "negatives",
    "negatives_top",
    "negatives_random",
    "suspected",
    "dropped",
    "relabelled",
)
# with `accept_rank` set (generated queries): positives the teacher did not rank high enough, and
# queries left without a positive because of it
ACCEPT_COUNTS = ("positives_rejected", "queries_rejected")


def build_training_set(
    dataset: BeirDataset,
    retrievers: list[str],
    teacher: Teacher,
    store_root: str | Path,
    *,
    n_top: int = 8,
    n_random: int = 8,
    skip_top: int = 0,
    depth: int = 100,
    top_depth: int | None = None,
    fn_margin: float | None = None,
    fn_fraction: float | None = None,
    fn_action: Action = "drop",
    fn_reference: Reference = "lowest",
    seed: int = 13,
    encoding: EncodingSettings | None = None,
    engine: str = "local",
    progress: bool = False,
    teacher_info: dict | None = None,
    shard: Shard | None = None,
    accept_rank: int | None = None,
) -> MiningResult:
    """One record per query that has a positive in the corpus and a negative left after
    false-negative control; `counts` says how many of each thing were kept or left out.

    `fn_reference` says which positive score the false-negative rules compare with (see
    `control_false_negatives`); `top_depth` (default `depth`) bounds the ranks top picks come from; `encoding` is how
    model retrievers encode, and its batch size is also the teacher's; `engine` ray retrieves the
    candidates (`retrieval.ray_search`) and scores the pairs the store lacks (`store.ray_scoring`)
    on Ray; `teacher_info`
    describes the teacher in a new score-store folder. With a `shard` of several ranks, each
    retrieves candidates for its block of queries and scores its share of the pairs into the
    store; every rank then returns the same records (rank 0 is the one to write them).

    `accept_rank` makes a judged positive a claim the teacher must confirm (generated queries,
    whose "positive" is only the document the query was made from): a positive is kept only if
    fewer than `accept_rank` of the query's sampled negatives score above it (1: the teacher puts
    it first among them). A rank, not a score threshold, so it means the same for any teacher
    and calibration. A query left without a positive is dropped; both are counted
    (`positives_rejected`, `queries_rejected`). False-negative control then runs against the
    positives kept, as for judged ones.
    """
    check_rules(fn_fraction, fn_action, fn_reference)
    if accept_rank is not None and accept_rank < 1:
        raise UserError(f"accept rank must be >= 1, got {accept_rank}")
    counts = dict.fromkeys(COUNTS + (ACCEPT_COUNTS if accept_rank is not None else ()), 0)
    counts["queries"] = len(dataset.queries)
    shard = shard or Shard()
    candidates = mine_candidates(
        dataset, retrievers, depth, encoding=encoding, shard=shard, engine=engine
    )
    plan: list[tuple[str, list[str], list[SampledNegative]]] = []
    for query_id in dataset.queries:
        judged = positive_ids(dataset.qrels.get(query_id, {}))
        positives = [doc_id for doc_id in judged if doc_id in dataset.corpus]
        counts["positives_not_in_corpus"] += len(judged) - len(positives)
        if not positives:
            counts["queries_without_positives"] += 1
            continue
        sampled = sample_negatives(
            candidates[query_id],
            positives,
            query_id=query_id,
            n_top=n_top,
            n_random=n_random,
            top_depth=depth if top_depth is None else top_depth,
            skip_top=skip_top,
            seed=seed,
        )
        if not sampled:  # nothing to learn from: do not spend the teacher on its positives
            counts["queries_without_negatives"] += 1
            continue
        plan.append((query_id, positives, sampled))

    # One store call for all pairs: the store asks the teacher only for pairs it lacks (with
    # several ranks, each first stores the missing pairs it owns, so the last call reads them).
    queries, docs = [], []
    for query_id, positives, sampled in plan:
        for doc_id in [*positives, *(s.doc_id for s in sampled)]:
            queries.append(dataset.queries[query_id])
            docs.append(dataset.doc_text(doc_id))
    scores = score_on_every_rank(
        teacher,
        queries,
        docs,
        store_root,
        (encoding or EncodingSettings()).batch_size,
        progress,
        shard,
        teacher_info,
        engine,
    ).tolist()

    records: list[TrainingRecord] = []
    at = 0
    for query_id, positives, sampled in plan:
        pos_scores, at = scores[at : at + len(positives)], at + len(positives)
        neg_scores, at = scores[at : at + len(sampled)], at + len(sampled)
        if accept_rank is not None:
            agreed = [
                i
                for i, score in enumerate(pos_scores)
                if sum(n > score for n in neg_scores) < accept_rank
            ]
            counts["positives_rejected"] += len(positives) - len(agreed)
            if not agreed:
                counts["queries_rejected"] += 1
                continue
            positives, pos_scores = [positives[i] for i in agreed], [pos_scores[i] for i in agreed]
        control = control_false_negatives(
            pos_scores, neg_scores, fn_margin, fn_fraction, fn_action, fn_reference
        )
        for key in ("suspected", "dropped", "relabelled"):
            counts[key] += control.counts[key]
        record_positives = [Positive(doc_id, score) for doc_id, score in zip(positives, pos_scores)]
        negatives = []
        for negative, score, decision in zip(sampled, neg_scores, control.decisions):
            if decision == "relabel":
                record_positives.append(Positive(negative.doc_id, score, relabelled=True))
            elif decision == "keep":
                negatives.append(
                    Negative(negative.doc_id, score, negative.how, negative.prob, negative.ranks)
                )
                counts[f"negatives_{negative.how}"] += 1
        if not negatives:
            counts["queries_without_negatives"] += 1
            continue
        counts["positives"] += len(record_positives)
        counts["negatives"] += len(negatives)
        records.append(
            TrainingRecord(
                query_id,
                dataset.queries[query_id],
                record_positives,
                negatives,
                teacher.fingerprint,
                score_scale(teacher),
            )
        )
    counts["records"] = len(records)
    log.info("training set for %s/%s: %s", dataset.name, dataset.split, counts)
    return MiningResult(records, counts)

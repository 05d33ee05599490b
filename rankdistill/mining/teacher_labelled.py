"""A training set for queries without judgements: the teacher chooses the positives.

For each query, every first stage in `retrievers` returns its top `depth` (BM25 and the dense
starting model, say, 100 each), so the teacher's choice is not capped by one retriever's recall.
The teacher scores the whole union once (through the score store), and the record is the union in
the teacher's order:

    positives   the teacher's top `positives` (1: its choice)
    negatives   the next `n_top` ("top", probability 1), then `n_random` drawn uniformly from the
                rest of the union ("random", probability n_random / rest)

With `n_top = k - 1` and one positive, a record's list is the teacher's top k, the support of the
target of `teacher_nce` (rankdistill/losses/teacher_nce.py), with the rest of the corpus as
negatives in query-side training. No judgement is read: the dataset may have none at all.

A label budget (`judged`: the judgements of a few of the queries) corrects the teacher where a
judgement exists: such a query's positives are its judged ones (scored by the teacher too, found
by a retriever or not), each lifted to `JUDGED_MARGIN` above the best score of its list, and the
list is the teacher's order without them. The teacher still ranks everything else.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.data.beir import BeirDataset
from rankdistill.encoders.models import EncodingSettings
from rankdistill.mining.candidates import Candidate, mine_candidates, positive_ids
from rankdistill.mining.records import MiningResult, Negative, Positive, TrainingRecord
from rankdistill.mining.sampling import query_rng
from rankdistill.store.scoring import score_on_every_rank
from rankdistill.teachers.base import Teacher, score_scale

log = logging.getLogger(__name__)

COUNTS = (
    "queries",
    "queries_without_negatives",
    "records",
    "positives",
    "negatives",
    "negatives_top",
    "negatives_random",
    "candidates_scored",
    "judged_queries",
    "judged_positives_lifted",
)
# how far above its list's best teacher score a judged positive is put: with teacher_nce's
# temperature 0.5 over summed z-scores, e^(1/0.5) = 7.4 times the mass of the teacher's first
JUDGED_MARGIN = 1.0


def teacher_labelled_set(
    dataset: BeirDataset,
    retrievers: list[str],
    teacher: Teacher,
    store_root: str | Path,
    *,
    positives: int = 1,
    n_top: int = 15,
    n_random: int = 0,
    depth: int = 100,
    seed: int = 13,
    encoding: EncodingSettings | None = None,
    engine: str = "local",
    progress: bool = False,
    teacher_info: dict | None = None,
    shard: Shard | None = None,
    judged: dict[str, dict[str, int]] | None = None,
) -> MiningResult:
    """One record per query of `dataset` (its own judgements, if any, are not read), as above;
    `judged` ({query id: {doc id: grade}}) the label budget's judgements."""
    if positives < 1:
        raise UserError(f"teacher positives must be >= 1, got {positives}")
    if n_top < 0 or n_random < 0:
        raise UserError(f"n_top and n_random must be >= 0, got {n_top}, {n_random}")
    shard = shard or Shard()
    counts = dict.fromkeys(COUNTS, 0)
    counts["queries"] = len(dataset.queries)
    unjudged = BeirDataset(
        dataset.name, dataset.path, dataset.split, dataset.corpus, dataset.queries, {}
    )
    candidates = mine_candidates(
        unjudged,
        retrievers,
        depth,
        encoding=encoding,
        keep_positives=True,
        shard=shard,
        engine=engine,
    )
    judged_positives = {
        q: wanted
        for q, docs in (judged or {}).items()
        if q in candidates and (wanted := positive_ids(docs))
    }
    for (
        query_id,
        wanted,
    ) in judged_positives.items():  # the teacher scores a judged positive no retriever found too
        listed = {c.doc_id for c in candidates[query_id]}
        candidates[query_id] += [
            Candidate(d) for d in wanted if d not in listed and d in dataset.corpus
        ]
    queries, docs = [], []
    for query_id, found in candidates.items():
        for candidate in found:
            queries.append(dataset.queries[query_id])
            docs.append(dataset.doc_text(candidate.doc_id))
    counts["candidates_scored"] = len(docs)
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
    for query_id, found in candidates.items():
        scored, at = scores[at : at + len(found)], at + len(found)
        # the teacher's order; ties keep the merged first-stage order (stable sort)
        order = sorted(range(len(found)), key=lambda i: -scored[i])
        chosen, rest = order[:positives], order[positives:]
        wanted = set(judged_positives.get(query_id, ()))
        is_judged = any(
            candidate.doc_id in wanted for candidate in found
        )  # not if no judged positive is in the corpus
        if is_judged:
            chosen, rest = (
                [i for i in order if found[i].doc_id in wanted],
                [i for i in order if found[i].doc_id not in wanted],
            )
            counts["judged_queries"] += 1
        top, pool = rest[:n_top], rest[n_top:]
        negatives = [
            Negative(found[i].doc_id, scored[i], "top", 1.0, dict(found[i].ranks)) for i in top
        ]
        if n_random and pool:
            take = min(n_random, len(pool))
            picks = sorted(
                query_rng(seed, query_id).choice(len(pool), size=take, replace=False).tolist()
            )
            negatives += [
                Negative(
                    found[pool[j]].doc_id,
                    scored[pool[j]],
                    "random",
                    take / len(pool),
                    dict(found[pool[j]].ranks),
                )
                for j in picks
            ]
        if not negatives:
            counts["queries_without_negatives"] += 1
            continue
        counts["positives"] += len(chosen)
        counts["negatives"] += len(negatives)
        counts["negatives_top"] += len(top)
        counts["negatives_random"] += len(negatives) - len(top)
        positive_scores = [scored[i] for i in chosen]
        if is_judged:
            floor = max(n.score for n in negatives) + JUDGED_MARGIN
            counts["judged_positives_lifted"] += sum(score < floor for score in positive_scores)
            positive_scores = [max(score, floor) for score in positive_scores]
        records.append(
            TrainingRecord(
                query_id,
                dataset.queries[query_id],
                [Positive(found[i].doc_id, score) for i, score in zip(chosen, positive_scores)],
                negatives,
                teacher.fingerprint,
                score_scale(teacher),
            )
        )
    counts["records"] = len(records)
    log.info("teacher-labelled training set for %s/%s: %s", dataset.name, dataset.split, counts)
    return MiningResult(records, counts)

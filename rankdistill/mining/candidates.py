"""Candidate mining: run first-stage retrievers over a split's queries and merge their hits.

A candidate is a document some retriever ranked for a query and that is not one of the query's
positives (qrels grade > 0). Judged non-relevant documents (grade <= 0) stay candidates.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.data.beir import BeirDataset
from rankdistill.data.resolve import dataset_info
from rankdistill.encoders.models import EncodingSettings
from rankdistill.retrieval import build_retriever

log = logging.getLogger(__name__)


@dataclass
class Candidate:
    """A mined document and, per retriever spec that found it, its 1-based rank in that
    retriever's list (positives included in the count, so ranks are the retriever's own)."""

    doc_id: str
    ranks: dict[str, int] = field(default_factory=dict)

    @property
    def best_rank(self) -> int:
        return min(self.ranks.values())


def positive_ids(judged: dict[str, int]) -> list[str]:
    """The documents judged relevant (grade > 0), in qrels order."""
    return [doc_id for doc_id, grade in judged.items() if grade > 0]


def merge_rankings(
    rankings: dict[str, list[str]], exclude: Collection[str] = ()
) -> list[Candidate]:
    """The union of several ranked lists ({spec: doc ids, best first}) without `exclude`,
    ordered by best rank, ties broken by the order of the retrievers."""
    merged: dict[str, Candidate] = {}
    depth = max((len(docs) for docs in rankings.values()), default=0)
    for position in range(depth):
        for spec, docs in rankings.items():
            if position < len(docs) and docs[position] not in exclude:
                # A doc is inserted at its best position, so insertion order is the merged order.
                merged.setdefault(docs[position], Candidate(docs[position])).ranks[spec] = (
                    position + 1
                )
    return list(merged.values())


def mine_candidates(
    dataset: BeirDataset,
    retrievers: list[str],
    depth: int = 100,
    *,
    encoding: EncodingSettings | None = None,
    keep_positives: bool = False,
    shard: Shard | None = None,
    engine: str = "local",
) -> dict[str, list[Candidate]]:
    """{query_id: candidates} for every query of `dataset` (load the training split for
    training data): the top `depth` hits of each retriever, merged, positives removed unless
    `keep_positives` (candidates to rerank rather than negatives). With a `shard` of several
    ranks each searches its block of the queries and every rank gets all the candidates.
    `encoding` is how model retrievers encode (their batch size, length, device, precision).
    `engine: ray` encodes a dense corpus and searches the queries on Ray
    (`retrieval.ray_search`), with the same candidates."""
    if not retrievers:
        raise UserError("candidate mining needs at least one retriever (e.g. bm25)")
    if len(set(retrievers)) != len(retrievers):
        raise UserError(f"a retriever is listed twice in {retrievers}")
    if depth < 1:
        raise UserError(f"mining depth must be >= 1, got {depth}")
    shard = shard or Shard()
    if engine == "ray" and shard.world_size > 1:
        raise UserError("engine: ray runs its own workers; launch it once, not under torchrun")
    mine = {query_id: dataset.queries[query_id] for query_id in shard.part(list(dataset.queries))}
    mined: dict[str, dict[str, list[str]]] = {query_id: {} for query_id in mine}
    for spec in retrievers:
        log.info(
            "mining candidates with %s on %s/%s (%d queries)",
            spec,
            dataset.name,
            dataset.split,
            len(mine),
        )
        retriever = build_retriever(spec, encoding or EncodingSettings(), engine)
        retriever.index(dataset.corpus)
        if engine == "ray":
            from rankdistill.retrieval.ray_search import search_on_ray

            found = search_on_ray(retriever, mine, depth, progress=False)
        else:
            found = retriever.search(mine, depth)
        for query_id, hits in found.items():
            mined[query_id][spec] = list(hits)
    rankings: dict[str, dict[str, list[str]]] = {query_id: {} for query_id in dataset.queries}
    for part in shard.gather(mined):
        rankings.update(part)
    # BEIR convention (ArguAna): a query is itself a corpus document, which is no negative.
    ignore_identical = dataset_info(dataset.name).ignore_identical_ids
    candidates: dict[str, list[Candidate]] = {}
    for query_id, by_spec in rankings.items():
        exclude = set() if keep_positives else set(positive_ids(dataset.qrels.get(query_id, {})))
        if ignore_identical:
            exclude.add(query_id)
        candidates[query_id] = merge_rankings(by_spec, exclude)
    return candidates

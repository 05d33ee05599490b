"""Candidate retrieval as a Ray Data pipeline (`engine: ray`): the same hits as one process.

    blocks of queries  ->  a pool of actors holding the indexed retriever  ->  hits, in query order

The driver indexes the corpus once (a dense corpus is encoded on Ray too: `retrieval.ray_encode`),
and each actor gets the indexed retriever once (Ray ships it: a BM25 index whole, a streamed dense
corpus as the path of its memory-mapped vectors, which every node must see, as the chunk folder of
corpus encoding). The queries go out in blocks of `QUERY_BLOCK`:
- BM25 scores each query alone, so any block gives one process's hits;
- a streamed dense corpus: the driver encodes the queries as one process does, and each task
  searches one block of their vectors, the block one process searches at that place, so the same
  products give the same scores.
A task Ray retries after a worker died returns the same hits, and the driver keeps one answer per
query. Other retrievers (SPLADE, a dense corpus small enough for FAISS in memory, ir_datasets'
scored documents) search in the driver: their search costs less than starting actors, or encoding
queries in other batches would move their scores.

Where Ray runs: `RAY_ADDRESS`, else a local Ray started for the run (`ray_encode.start_ray`).
Needs `pip install rankdistill[ray]`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from rankdistill.core.errors import UserError
from rankdistill.retrieval import dense
from rankdistill.retrieval.base import Results, Retriever
from rankdistill.retrieval.bm25 import BM25Retriever
from rankdistill.retrieval.dense import DenseRetriever
from rankdistill.retrieval.ray_encode import PoolActor, map_on_actors

PID_FILE = (
    "RAY_SEARCH_PIDS"  # a folder: each actor marks its process id there as it searches (tests)
)


def searches_on_ray(retriever: Retriever) -> bool:
    """Whether `search_on_ray` hands `retriever`'s queries to Ray actors (see above)."""
    return isinstance(retriever, BM25Retriever) or (
        isinstance(retriever, DenseRetriever) and retriever.streamed
    )


class _Search(PoolActor):
    """Ray actor: the indexed retriever, shipped once; each call searches one block of queries."""

    def __init__(self, retriever: Retriever, k: int, marks: str | None, threads: int) -> None:
        super().__init__(marks, threads)
        self.retriever, self.k = retriever, k

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        self.mark()
        found = []
        for ids, texts, vectors in zip(batch["ids"], batch["texts"], batch["vectors"]):
            ids = json.loads(str(ids))
            if isinstance(self.retriever, DenseRetriever):
                hits = self.retriever.search_vectors(ids, np.asarray(vectors), self.k)
            else:
                hits = self.retriever.search(dict(zip(ids, json.loads(str(texts)))), self.k)
            found.append(json.dumps([hits[i] for i in ids]))  # floats round-trip exactly
        return {"ids": batch["ids"], "hits": found}


def search_on_ray(
    retriever: Retriever,
    queries: dict[str, str],
    k: int,
    *,
    block: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Results:
    """`retriever.search(queries, k)` (the retriever indexed), with the queries searched on Ray
    in blocks of `block` (default `QUERY_BLOCK`) by `workers` actors (default: one per CPU Ray
    has); see above."""
    if not searches_on_ray(retriever):
        return retriever.search(queries, k)
    block = dense.QUERY_BLOCK if block is None else block
    if block < 1:
        raise UserError(f"a block of queries must hold >= 1, got {block}")
    query_ids = list(queries)
    if not query_ids:
        return {}
    vectors = (
        retriever.query_vectors([queries[q] for q in query_ids])
        if isinstance(retriever, DenseRetriever)
        else None
    )
    items = [  # strings as JSON, so Ray's Arrow blocks hold them without pickling
        {
            "ids": json.dumps(query_ids[start : start + block]),
            "texts": json.dumps([queries[q] for q in query_ids[start : start + block]]),
            "vectors": np.zeros(0, np.float32)
            if vectors is None
            else vectors[start : start + block],
        }
        for start in range(0, len(query_ids), block)
    ]
    searched = map_on_actors(items, _Search, {"retriever": retriever, "k": k}, PID_FILE, workers)
    found: Results = {}
    bar = tqdm(total=len(query_ids), unit="query", desc=f"{retriever.spec} (ray)",
               disable=not progress)  # fmt: skip
    for batch in searched.iter_batches(batch_size=1, batch_format="numpy"):
        for ids, hits in zip(batch["ids"], batch["hits"]):
            ids = json.loads(str(ids))
            for query_id, ranked in zip(ids, json.loads(str(hits))):
                found.setdefault(query_id, ranked)
            bar.update(len(ids))
    bar.close()
    missing = [q for q in query_ids if q not in found]
    if missing:
        raise RuntimeError(f"Ray returned no hits for {len(missing)} queries, e.g. {missing[0]!r}")
    return {query_id: found[query_id] for query_id in query_ids}

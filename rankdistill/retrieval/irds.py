"""Candidates an ir_datasets dataset ships, as a retriever for mining:

    scoreddocs:irds:<id>   its scored documents per query (e.g. a BM25 run, MS MARCO's official
                           top-1000), best score first
    docpairs:irds:<id>     the documents of its training pairs per query (MS MARCO's triples),
                           in the order they first appear

Nothing is encoded: `search` streams the component once and keeps, for the asked queries, the
first `k` documents that are in the corpus given to `index` (others are counted and skipped).
"""

from __future__ import annotations

import heapq
import logging

from rankdistill.core.errors import UserError
from rankdistill.data.irds import PREFIX, load_irds
from rankdistill.retrieval.base import Corpus, Results

log = logging.getLogger(__name__)

COMPONENTS = ("scoreddocs", "docpairs")


class IrdsCandidates:
    def __init__(self, component: str, source: str):
        if component not in COMPONENTS:
            raise ValueError(f"unknown ir_datasets component {component!r}")
        if not source.startswith(PREFIX) or not source[len(PREFIX) :]:
            raise UserError(
                f"retriever '{component}:{source}': name an ir_datasets id, e.g. {component}:irds:msmarco-passage/train"
            )
        self.spec = f"{component}:{source}"
        self.component = component
        self.dataset_id = source[len(PREFIX) :]
        dataset = load_irds(self.dataset_id)
        if not getattr(dataset, f"has_{component}")():
            raise UserError(f"retriever {self.spec!r}: irds:{self.dataset_id} has no {component}")
        self.dataset = dataset
        self.doc_ids: set[str] = set()

    def index(self, corpus: Corpus) -> None:
        self.doc_ids = set(corpus)

    def search(self, queries: dict[str, str], k: int) -> Results:
        if not self.doc_ids:
            raise RuntimeError(f"{self.spec}: search called before index()")
        skipped = 0
        if self.component == "scoreddocs":
            best: dict[str, list[tuple[float, str]]] = {query_id: [] for query_id in queries}
            for scored in self.dataset.scoreddocs_iter():
                heap = best.get(scored.query_id)
                if heap is None:
                    continue
                if scored.doc_id not in self.doc_ids:
                    skipped += 1
                    continue
                # a min-heap of the k best; on equal scores the smaller doc id stays, as in sorting
                item = (float(scored.score), _Reversed(scored.doc_id))
                if len(heap) < k:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
            results = {
                query_id: {str(doc): score for score, doc in sorted(heap, reverse=True)}
                for query_id, heap in best.items()
            }
        else:
            results = {query_id: {} for query_id in queries}
            for pair in self.dataset.docpairs_iter():
                hits = results.get(pair.query_id)
                if hits is None:
                    continue
                for doc_id in (pair.doc_id_a, pair.doc_id_b):
                    if doc_id not in self.doc_ids:
                        skipped += 1
                    elif doc_id not in hits and len(hits) < k:
                        hits[doc_id] = -float(len(hits) + 1)  # first seen ranks first
        if skipped:
            log.warning(
                "%s: skipped %d candidates whose documents are not in the corpus",
                self.spec,
                skipped,
            )
        return results


class _Reversed(str):
    """A doc id that sorts backwards, so a (score, doc) heap keeps the smaller id on ties."""

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:
        return str.__lt__(self, other)

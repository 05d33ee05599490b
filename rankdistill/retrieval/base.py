"""The interface every first-stage retriever implements, and the shared top-k helper."""

from __future__ import annotations

from typing import Protocol

import numpy as np

Corpus = dict[str, dict[str, str]]
Results = dict[str, dict[str, float]]  # BEIR's shape: {query_id: {doc_id: score}}


class Retriever(Protocol):
    spec: str

    def index(self, corpus: Corpus) -> None:
        """Prepare to search `corpus` (encode it, build the index)."""

    def search(self, queries: dict[str, str], k: int) -> Results:
        """The top-`k` documents per query, best first."""


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a (queries x docs) score matrix: indices and scores of the k best, best first.
    Among the kept k, ties break by lower document index."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    indices = np.take_along_axis(part, order, axis=1)
    return indices, np.take_along_axis(scores, indices, axis=1)


def to_results(query_ids: list[str], doc_ids: list[str], indices: np.ndarray, scores: np.ndarray) -> Results:
    results: Results = {}
    for row, query_id in enumerate(query_ids):
        hits: dict[str, float] = {}
        for index, score in zip(indices[row], scores[row]):
            if index >= 0:  # faiss pads with -1 when fewer than k documents exist
                hits[doc_ids[index]] = float(score)
        results[query_id] = hits
    return results

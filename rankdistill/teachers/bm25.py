"""BM25 as a teacher: the score of a pair under corpus statistics (IDF, average length)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint
from rankdistill.teachers.registry import TeacherRequest, register_teacher


class BM25Teacher:
    """Scores (query, doc) pairs whose doc text belongs to `corpus_texts`."""

    pairs_per_call = 4096

    def __init__(self, corpus_texts: Sequence[str], k1: float = 1.5, b: float = 0.75):
        from rankdistill.retrieval.bm25 import BM25Retriever

        corpus_texts = list(corpus_texts)  # read once: a DocumentTexts reads each text when indexed
        self._retriever = BM25Retriever(k1=k1, b=b)
        self._retriever.index(
            {str(i): {"title": "", "text": text} for i, text in enumerate(corpus_texts)}
        )
        self._row = {text: i for i, text in enumerate(corpus_texts)}
        corpus_digest = hashlib.sha256("\x1e".join(corpus_texts).encode()).hexdigest()
        self.fingerprint = make_fingerprint("bm25", corpus=corpus_digest, k1=k1, b=b)

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        rows = []
        for i, doc in enumerate(docs):
            if doc not in self._row:
                raise UserError(
                    f"BM25 teacher: the doc of pair {i} is not in the corpus it was built on"
                )
            rows.append(self._row[doc])
        scores = np.zeros(len(queries), dtype=np.float32)
        by_query: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            by_query.setdefault(query, []).append(i)
        for query, pairs in by_query.items():
            scores[pairs] = self._retriever.scores_for(query)[[rows[i] for i in pairs]]
        return scores


@register_teacher("bm25", model=False, corpus=True)
def bm25(argument: str, request: TeacherRequest) -> BM25Teacher:
    """`bm25`: BM25 under the statistics of the corpus it scores against."""
    if request.corpus_texts is None:
        raise UserError("a bm25 teacher needs the corpus it scores against")
    return BM25Teacher(request.corpus_texts)

"""BM25 as a teacher: the score of a pair under corpus statistics (IDF, average length)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint
from rankdistill.teachers.registry import TeacherRequest, register_teacher


class BM25Teacher:
    """Scores (query, doc) pairs whose doc text belongs to `corpus_texts`. The texts are read as
    the index is built and once more for their digests; none is kept (a `DocumentTexts` reads
    each text when indexed), so the teacher's memory is the index and 24 bytes a document."""

    pairs_per_call = 4096

    def __init__(self, corpus_texts: Sequence[str], k1: float = 1.5, b: float = 0.75):
        from rankdistill.retrieval.bm25 import BM25Retriever

        self._retriever = BM25Retriever(k1=k1, b=b)
        self._retriever.index(_TextCorpus(corpus_texts))
        corpus = hashlib.sha256()  # of the texts joined by \x1e, read one at a time
        digests = np.empty(len(corpus_texts), dtype=DIGEST)
        for i in range(len(corpus_texts)):
            text = corpus_texts[i]
            corpus.update((text if i == 0 else "\x1e" + text).encode())
            digests[i] = text_digest(text)
        # a text's row: its digest looked up in the sorted digests (equal texts: the last row)
        self._rows = np.argsort(digests, kind="stable")
        self._digests = digests[self._rows]
        self.fingerprint = make_fingerprint("bm25", corpus=corpus.hexdigest(), k1=k1, b=b)

    def _row(self, text: str) -> int | None:
        digest = text_digest(text)
        at = int(np.searchsorted(self._digests, digest, side="right")) - 1
        return int(self._rows[at]) if at >= 0 and self._digests[at] == digest else None

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        rows = []
        for i, doc in enumerate(docs):
            row = self._row(doc)
            if row is None:
                raise UserError(
                    f"BM25 teacher: the doc of pair {i} is not in the corpus it was built on"
                )
            rows.append(row)
        scores = np.zeros(len(queries), dtype=np.float32)
        by_query: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            by_query.setdefault(query, []).append(i)
        for query, pairs in by_query.items():
            scores[pairs] = self._retriever.scores_for(query)[[rows[i] for i in pairs]]
        return scores


# 16 bytes that stand for a document text, compared as two unsigned 64-bit integers
DIGEST = np.dtype([("high", "<u8"), ("low", "<u8")])


def text_digest(text: str) -> np.void:
    return np.frombuffer(hashlib.blake2b(text.encode(), digest_size=16).digest(), dtype=DIGEST)[0]


class _TextCorpus(Mapping[str, dict[str, str]]):
    """`texts` as the corpus BM25Retriever indexes (ids "0", "1", ..., no title), each entry
    made when read."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts

    def __getitem__(self, doc_id: str) -> dict[str, str]:
        return {"title": "", "text": self.texts[int(doc_id)]}

    def __iter__(self) -> Iterator[str]:
        return (str(i) for i in range(len(self.texts)))

    def __len__(self) -> int:
        return len(self.texts)


@register_teacher("bm25", model=False, corpus=True)
def bm25(argument: str, request: TeacherRequest) -> BM25Teacher:
    """`bm25`: BM25 under the statistics of the corpus it scores against."""
    if request.corpus_texts is None:
        raise UserError("a bm25 teacher needs the corpus it scores against")
    return BM25Teacher(request.corpus_texts)

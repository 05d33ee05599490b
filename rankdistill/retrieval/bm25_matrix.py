"""The BM25 score matrix built chunk by chunk, so a corpus's texts and token lists never sit in
memory all at once (bm25s's `BM25.index` takes every document's token list together).

Each chunk of documents is tokenised by bm25s (its stemmer and stopwords), and kept only as
unique (document, term, term frequency) triples in int32 / float32 arrays. Then every pair gets
bm25s's Lucene score, computed with the same float64 operations in the same order:

    idf(t)   = log(1 + (N - df(t) + 0.5) / (df(t) + 0.5))                      (float32, as bm25s)
    s(d, t)  = float32(idf(t) * tf / (k1 * ((1 - b) + b * |d| / avgdl) + tf))

and the matrix is stored as bm25s stores it (CSC, a column per term), so `bm25s.BM25.retrieve`
and `get_scores` search it unchanged and give the scores bm25s's own index gives
(tests/test_retrievers.py checks them against it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

SCORE_BLOCK = 8_000_000  # pairs scored at a time (float64 temporaries of this many)


class Triples:
    """The unique (document row, term id, term frequency) of every chunk, and each document's
    length in tokens; term ids are global, in order of first appearance."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.docs: list[np.ndarray] = []
        self.terms: list[np.ndarray] = []
        self.freqs: list[np.ndarray] = []
        self.lengths: list[np.ndarray] = []
        self.rows = 0

    def add(self, ids: list[list[int]], local_vocab: dict[str, int]) -> None:
        """One chunk as bm25s.tokenize returns it (token ids of its own vocabulary)."""
        to_global = np.empty(len(local_vocab), dtype=np.int64)
        for token, local in local_vocab.items():
            to_global[local] = self.vocab.setdefault(token, len(self.vocab))
        lengths = np.fromiter((len(doc) for doc in ids), dtype=np.int64, count=len(ids))
        tokens = np.fromiter(
            (t for doc in ids for t in doc), dtype=np.int64, count=int(lengths.sum())
        )
        rows = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
        width = max(1, len(self.vocab))
        keys, counts = np.unique(rows * width + to_global[tokens], return_counts=True)
        self.docs.append((keys // width + self.rows).astype(np.int32))
        self.terms.append((keys % width).astype(np.int32))
        self.freqs.append(counts.astype(np.float32))
        self.lengths.append(lengths)
        self.rows += len(ids)


def bm25_matrix(
    chunks: Iterable[tuple[list[list[int]], dict[str, int]]], k1: float, b: float
) -> tuple[dict[str, Any], dict[str, int]]:
    """(bm25s's `scores` dict, its `vocab_dict`) for the tokenised chunks, as `BM25.index` would
    make them with method and idf "lucene", float32 scores and int32 indices."""
    triples = Triples()
    for ids, vocab in chunks:
        triples.add(ids, vocab)
    n_docs, n_terms = triples.rows, len(triples.vocab)
    lengths = np.concatenate(triples.lengths) if triples.lengths else np.zeros(0, dtype=np.int64)
    average = lengths.mean()  # np.float64, as bm25s's np.array([...]).mean()
    doc = _joined(triples.docs, np.int32)
    term = _joined(triples.terms, np.int32)
    freq = _joined(triples.freqs, np.float32)
    triples.docs = triples.terms = triples.freqs = []
    df = np.bincount(term, minlength=n_terms)
    idf = np.zeros(n_terms, dtype=np.float32)
    for t, count in enumerate(df.tolist()):
        if count:
            idf[t] = _idf(count, n_docs)
    scores = np.empty(len(doc), dtype=np.float32)
    for start in range(0, len(doc), SCORE_BLOCK):
        part = slice(start, start + SCORE_BLOCK)
        d_len = lengths[doc[part]].astype(np.float64)
        tf = freq[part]
        tfc = tf / (k1 * ((1 - b) + b * d_len / average) + tf)
        scores[part] = idf[term[part]] * tfc
    del freq
    order = np.argsort(term, kind="stable")  # by term, then by document (the triples' order)
    indices = doc[order]
    del doc
    data = scores[order]
    del scores, order
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    index_type = np.int32 if len(data) < 2**31 else np.int64
    vocab = dict(triples.vocab)
    if "" not in vocab:  # bm25s's empty token: in the vocabulary, without a column
        vocab[""] = max(vocab.values(), default=-1) + 1
    matrix = {
        "data": data,
        "indices": indices.astype(index_type, copy=False),
        "indptr": indptr.astype(index_type),
        "num_docs": n_docs,
    }
    return matrix, vocab


def _idf(df: int, n_docs: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def _joined(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def tokenised_chunks(
    texts_of: Callable[[int, int], list[str]],
    count: int,
    tokenize: Callable[[list[str]], Any],
    chunk: int,
) -> Iterable[tuple[list[list[int]], dict[str, int]]]:
    """bm25s token ids and vocabulary of each `chunk` documents, read as they are needed."""
    for start in range(0, count, chunk):
        tokenized = tokenize(texts_of(start, min(start + chunk, count)))
        yield tokenized.ids, tokenized.vocab

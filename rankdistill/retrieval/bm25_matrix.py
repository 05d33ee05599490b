"""The BM25 score matrix built chunk by chunk, so a corpus's texts and token lists never sit in
memory all at once (bm25s's `BM25.index` takes every document's token list together).

Each chunk of documents is tokenised by bm25s (its stemmer and stopwords) and kept only as unique
(row in chunk, term, term frequency) triples: uint16, int32 and float32, 10 bytes a pair. Then
every pair gets bm25s's Lucene score, computed with the same float64 operations in the same order:

    idf(t)   = log(1 + (N - df(t) + 0.5) / (df(t) + 0.5))                      (float32, as bm25s)
    s(d, t)  = float32(idf(t) * tf / (k1 * ((1 - b) + b * |d| / avgdl) + tf))

Each chunk's pairs go straight to their places in the matrix as bm25s stores it (CSC: a column
per term, its documents in order; the columns' sizes are the document frequencies), and the chunk
is freed, so the peak is the matrix plus the compact pairs, with no sort over all of them.
`bm25s.BM25.retrieve` and `get_scores` search the matrix unchanged and give the scores bm25s's
own index gives (tests/test_retrievers.py checks every score on SciFact and NFCorpus).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

SCORE_BLOCK = 8_000_000  # pairs scored at a time (float64 temporaries of this many)


class Triples:
    """The unique (document row within its chunk, term id, term frequency) of every chunk, in
    document order, and each document's length in tokens; term ids are global, in order of first
    appearance. 10 bytes a pair (uint16 rows: a chunk holds at most 65,536 documents)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        # per chunk: (its first row, rows within it, term ids, term frequencies)
        self.chunks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.lengths: list[np.ndarray] = []
        self.rows = 0

    def add(self, ids: list[list[int]], local_vocab: dict[str, int]) -> None:
        """One chunk as bm25s.tokenize returns it (token ids of its own vocabulary)."""
        if len(ids) > 65_536:
            raise ValueError("a BM25 chunk holds at most 65,536 documents")
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
        self.chunks.append(
            (
                self.rows,
                (keys // width).astype(np.uint16),
                (keys % width).astype(np.int32),
                counts.astype(np.float32),
            )
        )
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
    df = np.zeros(n_terms, dtype=np.int64)
    for _, _, terms, _ in triples.chunks:
        df += np.bincount(terms, minlength=n_terms)
    idf = np.zeros(n_terms, dtype=np.float32)
    for t, count in enumerate(df.tolist()):
        if count:
            idf[t] = _idf(count, n_docs)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    pairs = int(indptr[-1])
    index_type = np.int32 if pairs < 2**31 else np.int64
    data = np.empty(pairs, dtype=np.float32)
    indices = np.empty(pairs, dtype=index_type)
    cursor = indptr[:-1].copy()  # the next free place in each term's column
    triples.chunks.reverse()
    while triples.chunks:  # chunk by chunk, in document order, each freed once placed
        start, rows, term, tf = triples.chunks.pop()
        doc = rows.astype(np.int64) + start
        scores = np.empty(len(doc), dtype=np.float32)
        for first in range(0, len(doc), SCORE_BLOCK):
            part = slice(first, first + SCORE_BLOCK)
            d_len = lengths[doc[part]].astype(np.float64)
            tfc = tf[part] / (k1 * ((1 - b) + b * d_len / average) + tf[part])
            scores[part] = idf[term[part]] * tfc
        # by term, then by document (stable): each term's documents go after earlier chunks'
        order = np.argsort(term, kind="stable")
        sorted_terms = term[order]
        run_starts = np.flatnonzero(np.r_[True, sorted_terms[1:] != sorted_terms[:-1]])
        run_lengths = np.diff(np.r_[run_starts, len(sorted_terms)])
        rank = np.arange(len(sorted_terms)) - np.repeat(run_starts, run_lengths)
        places = cursor[sorted_terms] + rank
        data[places] = scores[order]
        indices[places] = doc[order]
        cursor[sorted_terms[run_starts]] += run_lengths
    vocab = triples.vocab
    if "" not in vocab:  # bm25s's empty token: in the vocabulary, without a column
        vocab[""] = max(vocab.values(), default=-1) + 1
    matrix = {
        "data": data,
        "indices": indices,
        "indptr": indptr.astype(index_type),
        "num_docs": n_docs,
    }
    return matrix, vocab


def _idf(df: int, n_docs: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


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

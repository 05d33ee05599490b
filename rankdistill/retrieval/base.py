"""The interface every first-stage retriever implements, and the shared top-k helper."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from rankdistill.core.distributed import Shard

Corpus = Mapping[str, dict[str, str]]  # a dict, or data.corpus_file.CorpusFile (texts left on disk)
Results = dict[str, dict[str, float]]  # BEIR's shape: {query_id: {doc_id: score}}


class Retriever(Protocol):
    spec: str

    def index(self, corpus: Corpus) -> None:
        """Prepare to search `corpus` (encode it, build the index)."""

    def search(self, queries: dict[str, str], k: int) -> Results:
        """The top-`k` documents per query, best first."""


def search_by_rank(
    retriever: Retriever, queries: dict[str, str], k: int, shard: Shard | None = None
) -> Results:
    """`retriever.search(queries, k)` with the queries split across the ranks of `shard`: each
    searches its block, and every rank gets all the results, in the order of `queries`."""
    shard = shard or Shard()
    mine = {query_id: queries[query_id] for query_id in shard.part(list(queries))}
    found: Results = {}
    for part in shard.gather(retriever.search(mine, k) if mine else {}):
        found.update(part)
    return {query_id: found[query_id] for query_id in queries if query_id in found}


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a (queries x docs) score matrix: indices and scores of the k best, best first.
    Among the kept k, ties break by lower document index."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    indices = np.take_along_axis(part, order, axis=1)
    return indices, np.take_along_axis(scores, indices, axis=1)


def to_results(
    query_ids: list[str], doc_ids: list[str], indices: np.ndarray, scores: np.ndarray
) -> Results:
    results: Results = {}
    for row, query_id in enumerate(query_ids):
        hits: dict[str, float] = {}
        for index, score in zip(indices[row], scores[row]):
            if index >= 0:  # faiss pads with -1 when fewer than k documents exist
                hits[doc_ids[index]] = float(score)
        results[query_id] = hits
    return results


OnBatch = Callable[[int], None]


def in_length_batches(
    texts: list[str],
    batch_size: int,
    encode: Callable[[list[str]], Any],
    on_batch: OnBatch | None = None,
    progress: bool = False,
    desc: str = "encoding",
) -> tuple[list[Any], np.ndarray]:
    """`encode` over `texts` one batch at a time, longest first (as sentence-transformers sorts,
    so batches pad to similar lengths). Returns the batch outputs and the order of the texts they
    hold (`np.argsort(order)` puts rows back in input order). `on_batch(n)` runs after each
    batch, so a progress bar moves every batch rather than once per call."""
    from tqdm.auto import tqdm

    order = np.argsort([-len(text) for text in texts], kind="stable")
    outputs = []
    with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, leave=False) as bar:
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            outputs.append(encode([texts[i] for i in rows]))
            bar.update(len(rows))
            if on_batch is not None:
                on_batch(len(rows))
    return outputs, order


# Encodings computed in this process, per loaded model (dense vectors, sparse rows): stages of one
# run (a bi-encoder or SPLADE teacher, the zero-shot baseline, teacher reranking) encode each text
# once. `clear_memo` forgets them all, for timing cold encoding.
MEMO_TEXTS = 1_000_000
# A corpus of at most this many documents is encoded in memory with every vector memoised (its
# stages then share one encoding); a larger one is streamed through memory-mapped chunks and kept
# out of the memo, which would otherwise hold every text and vector of it.
MEMO_CORPUS = 50_000
_memo: dict[Hashable, Any] = {}


def memoised_rows(
    keys: Sequence[Hashable] | None, texts: list[str], encode: Callable[[list[str]], Sequence[Any]]
) -> list[Any]:
    """One row per text, in order: from the process memo under its key, or from one `encode` call
    over the distinct texts not there (which returns a row each), then memoised. `keys` None: no
    memo, every distinct text is encoded. The memo is emptied when it would pass MEMO_TEXTS."""
    memo: dict[Hashable, Any] = _memo if keys is not None else {}
    keys = keys if keys is not None else texts
    new = list(dict.fromkeys(text for text, key in zip(texts, keys) if key not in memo))
    if len(memo) + len(new) > MEMO_TEXTS:
        memo.clear()
        new = list(dict.fromkeys(texts))
    if new:
        fresh = dict(zip(new, encode(new)))
        memo.update({key: fresh[text] for text, key in zip(texts, keys) if text in fresh})
    return [memo[key] for key in keys]


def clear_memo() -> None:
    """Forget memoised encodings (for timing cold encoding)."""
    _memo.clear()

"""Learned sparse (SPLADE) retrieval: a SparseEncoder and exact sparse dot products (scipy CSR)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from sentence_transformers import SparseEncoder

from rankdistill.data.beir import join_title_text
from rankdistill.hardware import inference_autocast, resolve_precision
from rankdistill.models import resolve_model
from rankdistill.retrieval.base import Corpus, OnBatch, Results, in_length_batches, to_results, top_k


def load_sparse_model(name: str, device: str | None = None, max_length: int | None = None, precision: str = "auto") -> SparseEncoder:
    """A SparseEncoder that encodes under `precision` (resolved here; `encode_sparse` uses it)."""
    path = resolve_model(name)
    precision = resolve_precision(precision, device)
    model = SparseEncoder(path, device=device)
    if max_length:
        model.max_seq_length = max_length
    model.rankdistill_precision = precision
    model.rankdistill_memo_key = f"sparse|{path}|{device}|{model.max_seq_length}|{precision}"  # `memoised_rows`
    return model


def to_csr(embeddings: torch.Tensor) -> sp.csr_matrix:
    """A torch sparse (COO) or dense (n x vocab) tensor as a float32 scipy CSR matrix."""
    if embeddings.is_sparse:
        coo = embeddings.coalesce().cpu()
        rows, cols = coo.indices().numpy()
        values = coo.values().float().numpy()
        return sp.csr_matrix((values, (rows, cols)), shape=tuple(coo.shape), dtype=np.float32)
    return sp.csr_matrix(embeddings.float().cpu().numpy())


def encode_sparse(
    model: SparseEncoder, texts: list[str], is_query: bool, batch_size: int = 32, progress: bool = True, on_batch: OnBatch | None = None
) -> sp.csr_matrix:
    """Sparse rows of `texts` as CSR, in order; `on_batch(n)` is called after each batch."""
    encode = model.encode_query if is_query else model.encode_document

    def one_batch(batch: list[str]) -> sp.csr_matrix:
        return to_csr(encode(batch, batch_size=batch_size, show_progress_bar=False, convert_to_sparse_tensor=True))

    if not texts:
        return sp.csr_matrix((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
    with inference_autocast(model.device.type, getattr(model, "rankdistill_precision", "float32")):
        blocks, order = in_length_batches(texts, batch_size, one_batch, on_batch, progress, "encoding")
    return sp.vstack(blocks, format="csr")[np.argsort(order)]


class SparseRetriever:
    def __init__(self, model: str, batch_size: int = 32, device: str | None = None, max_length: int | None = None, precision: str = "auto"):
        self.spec = f"sparse:{model}"
        self.model = load_sparse_model(model, device, max_length, precision)
        self.batch_size = batch_size
        self.doc_ids: list[str] = []
        self.doc_matrix_t: sp.csr_matrix | None = None

    def index(self, corpus: Corpus) -> None:
        self.doc_ids = list(corpus)
        docs = encode_sparse(self.model, [join_title_text(corpus[d]) for d in self.doc_ids], False, self.batch_size)
        # vocab x docs in CSR: a row is a term's posting list, so a query's product reads only its
        # terms' rows (the layout of the `inverted` index, rankdistill/indexes/inverted.py)
        self.doc_matrix_t = docs.T.tocsr()

    def search(self, queries: dict[str, str], k: int, query_batch: int = 256) -> Results:
        if self.doc_matrix_t is None:
            raise RuntimeError("SparseRetriever.search called before index()")
        query_ids = list(queries)
        encoded = encode_sparse(self.model, [queries[q] for q in query_ids], True, self.batch_size, progress=False)
        results: Results = {}
        for start in range(0, len(query_ids), query_batch):
            scores = (encoded[start : start + query_batch] @ self.doc_matrix_t).toarray()
            indices, best = top_k(scores, k)
            indices = np.where(best > 0, indices, -1)  # no shared term: not a hit
            results.update(to_results(query_ids[start : start + query_batch], self.doc_ids, indices, best))
        return results

"""Learned sparse (SPLADE) retrieval: a SparseEncoder and exact sparse dot products (scipy CSR)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from sentence_transformers import SparseEncoder

from rankdistill.data.beir import join_title_text
from rankdistill.models import inference_autocast, resolve_model
from rankdistill.retrieval.base import Corpus, Results, to_results, top_k


def load_sparse_model(name: str, device: str | None = None, max_length: int | None = None, bf16: bool = False) -> SparseEncoder:
    """A SparseEncoder; `bf16`: it encodes under bf16 autocast (`encode_sparse`)."""
    path = resolve_model(name)
    model = SparseEncoder(path, device=device)
    if max_length:
        model.max_seq_length = max_length
    model.rankdistill_bf16 = bf16
    model.rankdistill_memo_key = f"sparse|{path}|{device}|{model.max_seq_length}|{'bf16' if bf16 else 'fp32'}"  # `memoised_rows`
    return model


def to_csr(embeddings: torch.Tensor) -> sp.csr_matrix:
    """A torch sparse (COO) or dense (n x vocab) tensor as a float32 scipy CSR matrix."""
    if embeddings.is_sparse:
        coo = embeddings.coalesce().cpu()
        rows, cols = coo.indices().numpy()
        values = coo.values().float().numpy()
        return sp.csr_matrix((values, (rows, cols)), shape=tuple(coo.shape), dtype=np.float32)
    return sp.csr_matrix(embeddings.float().cpu().numpy())


def encode_sparse(model: SparseEncoder, texts: list[str], is_query: bool, batch_size: int = 32, progress: bool = True) -> sp.csr_matrix:
    encode = model.encode_query if is_query else model.encode_document
    with inference_autocast(model.device.type, getattr(model, "rankdistill_bf16", False)):
        embeddings = encode(texts, batch_size=batch_size, show_progress_bar=progress, convert_to_sparse_tensor=True)
    return to_csr(embeddings)


class SparseRetriever:
    def __init__(self, model: str, batch_size: int = 32, device: str | None = None, max_length: int | None = None, bf16: bool = False):
        self.spec = f"sparse:{model}"
        self.model = load_sparse_model(model, device, max_length, bf16)
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

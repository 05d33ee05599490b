"""Learned sparse (SPLADE) retrieval: a SparseEncoder and exact sparse dot products (scipy CSR)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp
import torch
from sentence_transformers import SparseEncoder

from rankdistill.core.hardware import inference_autocast, resolve_precision
from rankdistill.data.beir import join_title_text
from rankdistill.encoders.models import EncodingModel, EncodingSettings, resolve_model
from rankdistill.retrieval.base import (
    Corpus,
    OnBatch,
    Results,
    in_length_batches,
    to_results,
    top_k,
)


def load_sparse_model(name: str, settings: EncodingSettings | None = None) -> EncodingModel:
    """A SparseEncoder with `settings` whose precision is resolved here (sparse models run in torch)."""
    settings = settings or EncodingSettings()
    path = resolve_model(name)
    precision = resolve_precision(settings.precision, settings.device)
    model = SparseEncoder(path, device=settings.device)
    if settings.max_length:
        model.max_seq_length = settings.max_length
    memo_key = (
        f"sparse|{path}|{settings.device}|{model.max_seq_length}|{precision}"  # `memoised_rows`
    )
    return EncodingModel(model, replace(settings, precision=precision, backend="torch"), memo_key)


def to_csr(embeddings: torch.Tensor) -> sp.csr_matrix:
    """A torch sparse (COO) or dense (n x vocab) tensor as a float32 scipy CSR matrix."""
    if embeddings.is_sparse:
        coo = embeddings.coalesce().cpu()
        rows, cols = coo.indices().numpy()
        values = coo.values().float().numpy()
        return sp.csr_matrix((values, (rows, cols)), shape=tuple(coo.shape), dtype=np.float32)
    return sp.csr_matrix(embeddings.float().cpu().numpy())


def encode_sparse(
    encoding: EncodingModel,
    texts: list[str],
    is_query: bool,
    progress: bool = True,
    on_batch: OnBatch | None = None,
) -> sp.csr_matrix:
    """Sparse rows of `texts` as CSR, in order, in batches of `encoding.settings.batch_size`;
    `on_batch(n)` is called after each batch."""
    model, settings = encoding.model, encoding.settings
    encode = model.encode_query if is_query else model.encode_document

    def one_batch(batch: list[str]) -> sp.csr_matrix:
        return to_csr(
            encode(
                batch,
                batch_size=settings.batch_size,
                show_progress_bar=False,
                convert_to_sparse_tensor=True,
            )
        )

    if not texts:
        return sp.csr_matrix((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
    with inference_autocast(model.device.type, settings.precision):
        blocks, order = in_length_batches(
            texts, settings.batch_size, one_batch, on_batch, progress, "encoding"
        )
    return sp.vstack(blocks, format="csr")[np.argsort(order)]


class SparseRetriever:
    def __init__(self, model: str, settings: EncodingSettings | None = None):
        self.spec = f"sparse:{model}"
        self.encoding = load_sparse_model(model, settings)
        self.doc_ids: list[str] = []
        self.doc_matrix_t: sp.csr_matrix | None = None

    def index(self, corpus: Corpus) -> None:
        self.doc_ids = list(corpus)
        docs = encode_sparse(
            self.encoding, [join_title_text(corpus[d]) for d in self.doc_ids], False
        )
        # vocab x docs in CSR: a row is a term's posting list, so a query's product reads only its
        # terms' rows (the layout of the `inverted` index, rankdistill/indexes/inverted.py)
        self.doc_matrix_t = docs.T.tocsr()

    def search(self, queries: dict[str, str], k: int, query_batch: int = 256) -> Results:
        if self.doc_matrix_t is None:
            raise RuntimeError("SparseRetriever.search called before index()")
        query_ids = list(queries)
        encoded = encode_sparse(
            self.encoding, [queries[q] for q in query_ids], True, progress=False
        )
        results: Results = {}
        for start in range(0, len(query_ids), query_batch):
            scores = (encoded[start : start + query_batch] @ self.doc_matrix_t).toarray()
            indices, best = top_k(scores, k)
            indices = np.where(best > 0, indices, -1)  # no shared term: not a hit
            results.update(
                to_results(query_ids[start : start + query_batch], self.doc_ids, indices, best)
            )
        return results

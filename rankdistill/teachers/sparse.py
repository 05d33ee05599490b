"""A SPLADE sparse encoder as a teacher: the dot product of query and document term weights."""

from __future__ import annotations

import numpy as np

from rankdistill.models import precision_fields, resolve_model
from rankdistill.teachers.base import make_fingerprint, weights_hash
from rankdistill.teachers.bi_encoder import unique_texts


class SparseTeacher:
    pairs_per_call = 2048  # see ScoreStore: repeated texts in a call are encoded once
    def __init__(self, model: str, batch_size: int = 32, max_length: int | None = None, device: str | None = None, bf16: bool = False):
        from rankdistill.retrieval.sparse import load_sparse_model

        path = resolve_model(model)
        self.model = load_sparse_model(path, device, max_length, bf16)
        self.batch_size = batch_size
        self.fingerprint = make_fingerprint(
            "sparse", weights=weights_hash(path), max_length=self.model.max_seq_length, **precision_fields(bf16)
        )

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        from rankdistill.retrieval.sparse import encode_sparse

        unique_queries, qi = unique_texts(queries)
        unique_docs, di = unique_texts(docs)
        q = encode_sparse(self.model, unique_queries, True, self.batch_size, progress=False)
        d = encode_sparse(self.model, unique_docs, False, self.batch_size, progress=False)
        return np.asarray(q[qi].multiply(d[di]).sum(axis=1), dtype=np.float32).reshape(-1)

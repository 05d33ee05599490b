"""A dense bi-encoder (cosine or dot) as a teacher. Each distinct text in a call is encoded
once, however many pairs it appears in."""

from __future__ import annotations

import numpy as np

from rankdistill.errors import UserError
from rankdistill.models import resolve_model
from rankdistill.teachers.base import make_fingerprint, weights_hash


def unique_texts(texts: list[str]) -> tuple[list[str], np.ndarray]:
    position: dict[str, int] = {}
    index = np.array([position.setdefault(text, len(position)) for text in texts], dtype=np.int64)
    return list(position), index


class BiEncoderTeacher:
    def __init__(self, model: str, similarity: str = "cosine", batch_size: int = 32, max_length: int | None = None, device: str | None = None):
        from rankdistill.retrieval.dense import load_dense_model

        if similarity not in ("cosine", "dot"):
            raise UserError(f"bi-encoder similarity {similarity!r}: expected cosine or dot")
        path = resolve_model(model)
        self.model = load_dense_model(path, device, max_length)
        self.similarity = similarity
        self.batch_size = batch_size
        self.fingerprint = make_fingerprint(
            "bi-encoder", weights=weights_hash(path), similarity=similarity, max_length=self.model.max_seq_length
        )

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        normalize = self.similarity == "cosine"
        unique_queries, qi = unique_texts(queries)
        unique_docs, di = unique_texts(docs)
        kwargs = {"batch_size": self.batch_size, "convert_to_numpy": True, "normalize_embeddings": normalize}
        q = self.model.encode_query(unique_queries, **kwargs)
        d = self.model.encode_document(unique_docs, **kwargs)
        return np.einsum("ij,ij->i", q[qi], d[di]).astype(np.float32)

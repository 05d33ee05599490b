"""A SPLADE sparse encoder as a teacher: the dot product of query and document term weights.

Each distinct text is encoded once per process and model, across calls (the shared memo of
`rankdistill.retrieval.base.memoised_rows`): the store hands over chunks of 2,048 pairs, and a
reranking run repeats most documents across chunks (SciFact's 29,966 test pairs hold 5,183
documents at most), so without it a document was encoded ~6 times.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from rankdistill.core.fingerprints import make_fingerprint, runtime_fields, weights_hash
from rankdistill.encoders.models import EncodingSettings, resolve_model
from rankdistill.teachers.bi_encoder import unique_texts
from rankdistill.teachers.registry import TeacherRequest, register_teacher


class SparseTeacher:
    pairs_per_call = 2048  # see ScoreStore: repeated texts in a call are encoded once

    def __init__(
        self,
        model: str,
        batch_size: int = 32,
        max_length: int | None = None,
        device: str | None = None,
        precision: str = "auto",
    ):
        from rankdistill.retrieval.sparse import load_sparse_model

        path = resolve_model(model)
        self.encoding = load_sparse_model(
            path, EncodingSettings(batch_size, max_length, device, precision)
        )
        self.fingerprint = make_fingerprint(
            "sparse",
            weights=weights_hash(path),
            max_length=self.encoding.model.max_seq_length,
            **runtime_fields(self.encoding.settings.precision),
        )

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        q = self._encode(queries, True)
        d = self._encode(docs, False)
        return np.asarray(q.multiply(d).sum(axis=1), dtype=np.float32).reshape(-1)

    def _encode(self, texts: list[str], is_query: bool) -> sp.csr_matrix:
        from rankdistill.retrieval.base import memoised_rows
        from rankdistill.retrieval.sparse import encode_sparse

        unique, index = unique_texts(texts)
        if not unique:
            return sp.csr_matrix(
                (0, self.encoding.model.get_sentence_embedding_dimension() or 0), dtype=np.float32
            )

        def encode(new: list[str]) -> list[sp.csr_matrix]:
            matrix = encode_sparse(
                self.encoding,
                new,
                is_query,
                progress=len(new) > 4 * self.encoding.settings.batch_size,
            )
            return [matrix[i] for i in range(matrix.shape[0])]

        rows = memoised_rows(
            [(self.encoding.memo_key, is_query, text) for text in unique], unique, encode
        )
        return sp.vstack(rows, format="csr")[index]


@register_teacher("sparse")
def sparse(model: str, request: TeacherRequest) -> SparseTeacher:
    """`sparse:MODEL`: a SPLADE SparseEncoder, dot product."""
    return SparseTeacher(
        model,
        batch_size=request.batch_size,
        max_length=request.max_length,
        device=request.device,
        precision=request.precision,
    )

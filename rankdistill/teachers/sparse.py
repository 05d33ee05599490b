"""A SPLADE sparse encoder as a teacher: the dot product of query and document term weights.

Each distinct text is encoded once per teacher, across calls: the store hands over chunks of
2,048 pairs, and a reranking run repeats most documents across chunks (SciFact's 29,966 test
pairs hold 5,183 documents at most), so without the memo a document was encoded ~6 times.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

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
        self._memo: dict[tuple[bool, str], sp.csr_matrix] = {}  # (is_query, text) -> one CSR row
        self.fingerprint = make_fingerprint(
            "sparse", weights=weights_hash(path), max_length=self.model.max_seq_length, **precision_fields(bf16)
        )

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        q = self._encode(queries, True)
        d = self._encode(docs, False)
        return np.asarray(q.multiply(d).sum(axis=1), dtype=np.float32).reshape(-1)

    def _encode(self, texts: list[str], is_query: bool) -> sp.csr_matrix:
        from rankdistill.retrieval.dense import MEMO_TEXTS
        from rankdistill.retrieval.sparse import encode_sparse

        unique, index = unique_texts(texts)
        new = [text for text in unique if (is_query, text) not in self._memo]
        if len(self._memo) + len(new) > MEMO_TEXTS:
            self._memo.clear()
            new = unique
        if new:
            encoded = encode_sparse(self.model, new, is_query, self.batch_size, progress=False)
            self._memo.update({(is_query, text): encoded[i] for i, text in enumerate(new)})
        if not unique:
            return sp.csr_matrix((0, self.model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
        return sp.vstack([self._memo[(is_query, text)] for text in unique], format="csr")[index]

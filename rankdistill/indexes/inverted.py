"""The exact sparse (SPLADE) index: posting lists as one CSR matrix, term x document.

Row t holds the documents with term t and their float32 weights, so a query walks only the
rows of its own terms and accumulates scores term at a time (scipy's sparse product does the
walk). Results equal exact sparse search: the same products, summed in the same order.

The reference it is measured against is what `sparse:MODEL` retrieval does: the document
matrix kept document-major (CSC of its transpose), which scipy turns term-major again on every
product, i.e. rebuilds the posting lists per call.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from rankdistill.core.atomic import atomic_write
from rankdistill.core.errors import UserError
from rankdistill.indexes.registry import register_index_kind
from rankdistill.indexes.spec import IndexSpec
from rankdistill.retrieval.base import top_k
from rankdistill.retrieval.encode import Chunks

POSTINGS_FILE = "postings.npz"


def exact_sparse_search(
    queries: sp.csr_matrix, docs_t: sp.spmatrix, k: int, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k sparse dot products of each query against the (vocabulary x docs) matrix
    `docs_t`, in query batches; a document sharing no term with the query is not a hit."""
    k = min(k, docs_t.shape[1])
    queries = sp.csr_matrix(queries, dtype=np.float32)
    all_scores, all_indices = [], []
    for start in range(0, queries.shape[0], batch):
        scores = (queries[start : start + batch] @ docs_t).toarray()
        indices, best = top_k(scores, k)
        all_indices.append(np.where(best > 0, indices, -1))
        all_scores.append(best)
    if not all_scores:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    return np.concatenate(all_scores), np.concatenate(all_indices)


def _matrix_bytes(matrix: sp.spmatrix) -> int:
    return int(matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes)


class InvertedStructure:
    def __init__(self, postings: sp.csr_matrix, spec: IndexSpec):
        self.postings = postings
        self.spec = spec

    @property
    def count(self) -> int:
        return int(self.postings.shape[1])

    def set_params(self, params: dict[str, float]) -> None:
        if params:
            raise UserError("the inverted index is exact and takes no search parameters")

    def effective_params(self) -> dict[str, float]:
        return {}

    def search(self, queries: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        return exact_sparse_search(queries, self.postings, k)

    def stored_vectors(self, rows: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(self.postings[:, rows].T, dtype=np.float32)

    def sizes(self) -> dict[str, int]:
        return {"index": _matrix_bytes(self.postings), "code": 0, "rescore": 0}

    def save(self, folder: Path) -> list[str]:
        atomic_write(
            folder / POSTINGS_FILE,
            lambda handle: sp.save_npz(handle, self.postings, compressed=False),
            binary=True,
        )
        return [POSTINGS_FILE]

    @staticmethod
    def load(folder: Path, spec: IndexSpec) -> InvertedStructure:
        try:
            postings = sp.load_npz(folder / POSTINGS_FILE)
        except Exception as exc:  # a damaged .npz fails in zipfile, numpy or scipy
            raise UserError(
                f"{folder / POSTINGS_FILE}: corrupted index file ({type(exc).__name__}: {exc})"
            ) from None
        if not sp.isspmatrix_csr(postings) or postings.dtype != np.float32:
            raise UserError(
                f"{folder / POSTINGS_FILE}: corrupted index file: not float32 CSR posting lists"
            )
        return InvertedStructure(postings, spec)


def build_inverted(
    spec: IndexSpec, chunks: Chunks, dimension: int
) -> tuple[InvertedStructure, dict[str, float]]:
    started = time.perf_counter()
    forward = chunks.stack()
    if forward.shape[1] != dimension:
        raise UserError(
            f"inverted index: vectors have {forward.shape[1]} dimensions, expected {dimension}"
        )
    postings = sp.csr_matrix(forward.T, dtype=np.float32)
    postings.sum_duplicates()
    return InvertedStructure(postings, spec), {
        "train_s": 0.0,
        "add_s": time.perf_counter() - started,
    }


class ExactSparseStructure:
    """Exact sparse search as `sparse:MODEL` retrieval does it (document-major matrix): the
    reference sparse indexes are measured against, behind the same interface."""

    def __init__(self, forward: sp.csr_matrix):
        self.docs_t = forward.T.tocsc()
        self.spec = IndexSpec("exact-sparse", "exact", {})

    @property
    def count(self) -> int:
        return int(self.docs_t.shape[1])

    def set_params(self, params: dict[str, float]) -> None:
        if params:
            raise UserError("exact sparse search takes no parameters")

    def effective_params(self) -> dict[str, float]:
        return {}

    def search(self, queries: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        return exact_sparse_search(queries, self.docs_t, k)

    def stored_vectors(self, rows: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(self.docs_t[:, rows].T, dtype=np.float32)

    def sizes(self) -> dict[str, int]:
        return {"index": _matrix_bytes(self.docs_t), "code": 0, "rescore": 0}

    def save(self, folder: Path) -> list[str]:
        raise UserError(
            "exact sparse search is a benchmark reference, not an index kind; use --spec inverted"
        )


register_index_kind("inverted", build=build_inverted, load=InvertedStructure.load, sparse=True)

"""The sparse (SPLADE) index: Seismic's blocked inverted index (pyseismic-lsr, the Seismic
paper's own library) for the shortlist, exact float32 rescoring for the final order.

Seismic keeps values as 16-bit floats, so its own scores differ from exact dot products in the
third or fourth digit. Built without pruning (every posting kept, block summaries keeping every
coordinate) and searched with every query term and heap_factor 1, it skips only blocks whose
summary bound cannot enter the top k, so its shortlist is that of exact search; rescoring the
`rescore * k` shortlist against the float32 forward index (the CSR rows, also saved) restores
exact scores. Lower heap_factor / query_cut trade recall for speed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from rankdistill.atomic import atomic_write
from rankdistill.errors import UserError
from rankdistill.indexes.dense import _padded, _ranked
from rankdistill.indexes.encode import Chunks
from rankdistill.indexes.spec import IndexSpec
from rankdistill.retrieval.base import top_k

SEISMIC_FILE = "inverted.seismic"
FORWARD_FILE = "forward.npz"
MAX_VOCABULARY = 65535  # SeismicIndex stores components as 16-bit ids


def _seismic():
    try:
        import seismic
    except ImportError:
        raise UserError("the inverted index needs pyseismic-lsr: pip install pyseismic-lsr") from None
    return seismic


@contextlib.contextmanager
def _quiet_stdout():
    """Seismic's Rust code prints build progress to stdout; send it to stderr so that stdout
    stays clean for results (a TREC run, a table)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _query_terms(row: sp.csr_matrix, dtype) -> tuple[np.ndarray, np.ndarray]:
    return np.array([str(t) for t in row.indices], dtype=dtype), np.ascontiguousarray(row.data, dtype=np.float32)


def exact_sparse_search(queries: sp.csr_matrix, docs_t: sp.csc_matrix, k: int, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact sparse dot-product top-k (the reference the inverted index is measured against);
    `docs_t` is the (vocabulary x docs) transpose. A document sharing no term is not a hit."""
    k = min(k, docs_t.shape[1])
    all_scores, all_indices = [], []
    for start in range(0, queries.shape[0], batch):
        scores = (queries[start : start + batch] @ docs_t).toarray()
        indices, best = top_k(scores, k)
        all_indices.append(np.where(best > 0, indices, -1))
        all_scores.append(best)
    return np.concatenate(all_scores), np.concatenate(all_indices)


class InvertedStructure:
    def __init__(self, index, forward: sp.csr_matrix, spec: IndexSpec):
        self.index = index
        self.forward = forward
        self.set_params(spec.params, spec)

    @property
    def count(self) -> int:
        return int(self.forward.shape[0])

    def set_params(self, params: dict[str, float], spec: IndexSpec | None = None) -> None:
        base = spec or self.spec
        self.spec = IndexSpec(base.build, base.kind, dict(params))
        settings = self.spec.search_params()
        self.query_cut = int(settings["query_cut"])
        self.heap_factor = float(settings["heap_factor"])
        self.rescore = float(settings["rescore"])

    def effective_params(self) -> dict[str, float]:
        return self.spec.search_params()

    def _shortlist(self, k: int) -> int:
        return min(self.count, max(k, int(round(self.rescore * k))))

    def _rescored(self, query: sp.csr_matrix, hits, k: int) -> tuple[np.ndarray, np.ndarray]:
        found = np.array(sorted(int(doc) for _, _, doc in hits), dtype=np.int64)
        if not len(found):
            return np.zeros(0, dtype=np.float32), found
        scores = np.asarray((self.forward[found] @ query.T).todense(), dtype=np.float32).reshape(-1)
        keep = scores > 0
        return _ranked(found[keep], scores[keep], k)

    def search(self, queries: sp.csr_matrix, k: int, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Batch search (Seismic's parallel batch_search); one query at a time when there is one."""
        seismic = _seismic()
        dtype = seismic.get_seismic_string()
        queries = sp.csr_matrix(queries, dtype=np.float32)
        k = min(k, self.count)
        shortlist = self._shortlist(k)
        rows = [queries[i] for i in range(queries.shape[0])]
        live = [i for i, row in enumerate(rows) if row.nnz]
        hits_by_row: dict[int, list] = {i: [] for i in range(len(rows))}
        if len(live) == 1:
            components, values = _query_terms(rows[live[0]], dtype)
            cut = self.query_cut or len(components)
            hits_by_row[live[0]] = self.index.search(str(live[0]), components, values, shortlist, cut, self.heap_factor)
        elif live:
            terms = [_query_terms(rows[i], dtype) for i in live]
            cut = self.query_cut or max(len(c) for c, _ in terms)
            found = self.index.batch_search(
                np.array([str(i) for i in live], dtype=dtype),
                [c for c, _ in terms],
                [v for _, v in terms],
                shortlist,
                cut,
                self.heap_factor,
                num_threads=threads,
            )
            for hits in found:  # results carry their query id; do not rely on their order
                if hits:
                    hits_by_row[int(hits[0][0])] = hits
        return _padded([self._rescored(rows[i], hits_by_row[i], k) for i in range(len(rows))], k)

    def sizes(self) -> dict[str, int]:
        with tempfile.TemporaryDirectory() as tmp:
            with _quiet_stdout():
                self.index.save(str(Path(tmp) / "index"))
            index_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir())
        forward_bytes = self.forward.data.nbytes + self.forward.indices.nbytes + self.forward.indptr.nbytes
        return {"index": int(index_bytes), "rescore": int(forward_bytes)}

    def save(self, folder: Path) -> list[str]:
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            with _quiet_stdout():
                self.index.save(str(Path(tmp) / "index"))
            (written,) = Path(tmp).iterdir()
            with written.open("rb") as source:
                atomic_write(folder / SEISMIC_FILE, lambda handle: shutil.copyfileobj(source, handle, 1 << 22), binary=True)
        atomic_write(folder / FORWARD_FILE, lambda handle: sp.save_npz(handle, self.forward, compressed=False), binary=True)
        return [SEISMIC_FILE, FORWARD_FILE]

    @staticmethod
    def load(folder: Path, spec: IndexSpec) -> InvertedStructure:
        seismic = _seismic()
        with tempfile.TemporaryDirectory() as tmp:
            # SeismicIndex.load wants the name its save() produces
            link = Path(tmp) / "index.index.seismic"
            os.symlink((folder / SEISMIC_FILE).resolve(), link)
            try:
                with _quiet_stdout():
                    index = seismic.SeismicIndex.load(str(link))
                forward = sp.load_npz(folder / FORWARD_FILE).tocsr()
            except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException (a BaseException)
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                raise UserError(f"{folder}: corrupted inverted index ({type(exc).__name__}: {exc})") from None
        if forward.shape[0] != index.len:
            raise UserError(f"{folder}: corrupted inverted index: {index.len} documents indexed, {forward.shape[0]} in the forward index")
        return InvertedStructure(index, forward, spec)


def build_inverted(spec: IndexSpec, chunks: Chunks, dimension: int) -> tuple[InvertedStructure, dict[str, float]]:
    """Seismic over every posting (no pruning), summaries keeping all of each block's energy."""
    seismic = _seismic()
    if dimension > MAX_VOCABULARY:
        raise UserError(f"inverted index: vocabulary of {dimension} terms exceeds Seismic's {MAX_VOCABULARY}")
    started = time.perf_counter()
    dataset = seismic.SeismicDataset(dim=dimension)
    start = 0
    blocks = []
    for block in chunks:
        block = sp.csr_matrix(block, dtype=np.float32)
        block.sum_duplicates()
        block.sort_indices()
        blocks.append(block)
        dataset.add_documents_by_id(
            [str(start + row) for row in range(block.shape[0])],
            block.indices.astype(np.int64),
            block.data.astype(np.float32),
            block.indptr.astype(np.int64),
        )
        start += block.shape[0]
    forward = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, dimension), dtype=np.float32)
    with _quiet_stdout():
        index = seismic.SeismicIndex.build_from_dataset(
            dataset, n_postings=max(start, 1), max_fraction=1.0, summary_energy=1.0, centroid_fraction=0.1
        )
    return InvertedStructure(index, forward, spec), {"train_s": 0.0, "add_s": time.perf_counter() - started}


class ExactSparseStructure:
    """Exact sparse search (scipy CSR products, as `sparse:MODEL` retrieval does): the
    reference the inverted index is measured against, behind the same interface."""

    def __init__(self, forward: sp.csr_matrix):
        self.forward = forward
        self.docs_t = forward.T.tocsc()
        self.spec = IndexSpec("exact-sparse", "exact", {})

    @property
    def count(self) -> int:
        return int(self.forward.shape[0])

    def set_params(self, params: dict[str, float]) -> None:
        if params:
            raise UserError("exact sparse search takes no parameters")

    def effective_params(self) -> dict[str, float]:
        return {}

    def search(self, queries: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        return exact_sparse_search(sp.csr_matrix(queries, dtype=np.float32), self.docs_t, k)

    def sizes(self) -> dict[str, int]:
        return {"index": int(self.docs_t.data.nbytes + self.docs_t.indices.nbytes + self.docs_t.indptr.nbytes), "rescore": 0}

    def save(self, folder: Path) -> list[str]:
        raise UserError("exact sparse search is a benchmark reference, not an index kind; use --spec inverted")

"""Seismic's approximate inverted index (pyseismic-lsr, the Seismic paper's own library) for
SPLADE vectors: posting lists pruned and split into blocks with summary vectors, so a query
skips most blocks. Built with the library's default settings; at search time `query_cut`
(heaviest query terms used), `heap_factor` (how eagerly blocks are skipped) trade recall for
speed. Seismic stores values as 16-bit floats, so its shortlist of `rescore * k` documents is
rescored with the float32 vectors (kept beside it) and cut to k.

Seismic is built for large collections (millions of documents); on a few thousand documents the
exact `inverted` index is faster and smaller (evaluation/studies/07-index_bench.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from rankdistill.core.atomic import atomic_write
from rankdistill.core.errors import UserError
from rankdistill.indexes.dense import _padded, _ranked
from rankdistill.indexes.registry import register_index_kind
from rankdistill.indexes.spec import IndexSpec
from rankdistill.retrieval.encode import Chunks

SEISMIC_FILE = "seismic.index"
FORWARD_FILE = "forward.npz"
MAX_VOCABULARY = 65535  # SeismicIndex stores components as 16-bit ids


def _seismic():
    try:
        import seismic
    except ImportError:
        raise UserError(
            "the seismic index needs pyseismic-lsr: pip install pyseismic-lsr"
        ) from None
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


class SeismicStructure:
    def __init__(self, index, forward: sp.csr_matrix, spec: IndexSpec):
        self.index = index
        self.forward = forward
        self.set_params(spec.params, spec)

    @property
    def count(self) -> int:
        return int(self.forward.shape[0])

    def stored_vectors(self, rows: np.ndarray) -> sp.csr_matrix:
        return self.forward[rows]

    def set_params(self, params: dict[str, float], spec: IndexSpec | None = None) -> None:
        self.spec = replace(spec or self.spec, params=dict(params))
        settings = self.spec.search_params()
        self.query_cut = int(settings["query_cut"])
        self.heap_factor = float(settings["heap_factor"])
        self.rescore = float(settings["rescore"])

    def effective_params(self) -> dict[str, float]:
        return self.spec.search_params()

    def _shortlist(self, k: int) -> int:
        return min(self.count, max(k, int(round(self.rescore * k))))

    def search(self, queries: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Seismic's batch search for several queries, its single search for one; each
        shortlist rescored with float32 dot products."""
        seismic = _seismic()
        dtype = seismic.get_seismic_string()
        queries = sp.csr_matrix(queries, dtype=np.float32)
        k = min(k, self.count)
        shortlist = self._shortlist(k)
        bounds = queries.indptr
        terms = queries.indices.astype(str).astype(dtype)  # Seismic addresses component 42 as "42"
        live = [i for i in range(queries.shape[0]) if bounds[i + 1] > bounds[i]]
        hits: dict[int, list] = {}
        components = [terms[bounds[i] : bounds[i + 1]] for i in live]
        values = [queries.data[bounds[i] : bounds[i + 1]] for i in live]
        cut = self.query_cut or max((len(c) for c in components), default=1)
        if len(live) == 1:
            found = [
                self.index.search(
                    str(live[0]), components[0], values[0], shortlist, cut, self.heap_factor
                )
            ]
        elif live:
            ids = np.array([str(i) for i in live], dtype=dtype)
            found = self.index.batch_search(
                ids, components, values, shortlist, cut, self.heap_factor
            )
        else:
            found = []
        for (
            result
        ) in found:  # each hit is (query id, approximate score, doc row); order not relied on
            if result:
                hits[int(result[0][0])] = result
        dense_query = np.zeros(self.forward.shape[1], dtype=np.float32)
        rows = []
        for i in range(queries.shape[0]):
            docs = np.array(sorted(int(doc) for _, _, doc in hits.get(i, [])), dtype=np.int64)
            if not len(docs):
                rows.append((np.zeros(0, dtype=np.float32), docs))
                continue
            columns = queries.indices[bounds[i] : bounds[i + 1]]
            dense_query[columns] = queries.data[bounds[i] : bounds[i + 1]]
            scores = self.forward[docs] @ dense_query
            dense_query[columns] = 0.0
            keep = scores > 0
            rows.append(_ranked(docs[keep], scores[keep].astype(np.float32), k))
        return _padded(rows, k)

    def sizes(self) -> dict[str, int]:
        with tempfile.TemporaryDirectory() as tmp:
            with _quiet_stdout():
                self.index.save(str(Path(tmp) / "index"))
            index_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir())
        forward_bytes = (
            self.forward.data.nbytes + self.forward.indices.nbytes + self.forward.indptr.nbytes
        )
        return {"index": int(index_bytes), "code": 0, "rescore": int(forward_bytes)}

    def save(self, folder: Path) -> list[str]:
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            with _quiet_stdout():
                self.index.save(str(Path(tmp) / "index"))
            (written,) = Path(tmp).iterdir()
            with written.open("rb") as source:
                atomic_write(
                    folder / SEISMIC_FILE,
                    lambda handle: shutil.copyfileobj(source, handle, 1 << 22),
                    binary=True,
                )
        atomic_write(
            folder / FORWARD_FILE,
            lambda handle: sp.save_npz(handle, self.forward, compressed=False),
            binary=True,
        )
        return [SEISMIC_FILE, FORWARD_FILE]

    @staticmethod
    def load(folder: Path, spec: IndexSpec) -> SeismicStructure:
        seismic = _seismic()
        with tempfile.TemporaryDirectory() as tmp:
            # SeismicIndex.load wants the name its save() produces
            link = Path(tmp) / "index.index.seismic"
            os.symlink((folder / SEISMIC_FILE).resolve(), link)
            try:
                with _quiet_stdout():
                    index = seismic.SeismicIndex.load(str(link))
                forward = sp.load_npz(folder / FORWARD_FILE).tocsr()
            except (
                BaseException
            ) as exc:  # a Rust panic arrives as pyo3's PanicException (a BaseException)
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                raise UserError(
                    f"{folder}: corrupted seismic index ({type(exc).__name__}: {exc})"
                ) from None
        if forward.shape[0] != index.len:
            raise UserError(
                f"{folder}: corrupted seismic index: {index.len} documents indexed, {forward.shape[0]} in the forward index"
            )
        return SeismicStructure(index, forward, spec)


def build_seismic(
    spec: IndexSpec, chunks: Chunks, dimension: int
) -> tuple[SeismicStructure, dict[str, float]]:
    """Seismic with its default build settings (posting-list pruning, block summaries)."""
    seismic = _seismic()
    if dimension > MAX_VOCABULARY:
        raise UserError(
            f"seismic index: vocabulary of {dimension} terms exceeds Seismic's {MAX_VOCABULARY}"
        )
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
    forward = (
        sp.vstack(blocks, format="csr")
        if blocks
        else sp.csr_matrix((0, dimension), dtype=np.float32)
    )
    with _quiet_stdout():
        index = seismic.SeismicIndex.build_from_dataset(dataset)
    return SeismicStructure(index, forward, spec), {
        "train_s": 0.0,
        "add_s": time.perf_counter() - started,
    }


# the query's `query_cut` heaviest terms walk posting lists (0 = all); blocks whose summary score is
# below heap_factor x the current k-th score are skipped (1 = only blocks that cannot make the top k)
register_index_kind(
    "seismic",
    build=build_seismic,
    load=SeismicStructure.load,
    sparse=True,
    params={"query_cut": 10, "heap_factor": 0.9, "rescore": 2},
)

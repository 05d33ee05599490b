"""Dense index structures: any faiss `index_factory` index, and binary codes with float rescoring.

Both use inner product; vectors arrive already normalised when the model's similarity is cosine.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
from sentence_transformers.util.quantization import quantize_embeddings

from rankdistill.core.atomic import atomic_write
from rankdistill.core.errors import UserError
from rankdistill.indexes.registry import register_index_kind
from rankdistill.indexes.spec import IndexSpec, faiss_message
from rankdistill.retrieval.encode import Chunks

log = logging.getLogger(__name__)

FAISS_FILE = "index.faiss"
CODES_FILE = "codes.faiss"
VECTORS_FILE = "vectors.npy"


def _ranked(candidates: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of one query's candidates, best first, ties to the lower document index."""
    order = np.lexsort((candidates, -scores))[:k]
    return scores[order], candidates[order]


def _padded(rows: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query (scores, indices) lists as faiss-style (nq x k) arrays padded with -1."""
    scores = np.full((len(rows), k), -np.inf, dtype=np.float32)
    indices = np.full((len(rows), k), -1, dtype=np.int64)
    for row, (s, i) in enumerate(rows):
        scores[row, : len(s)] = s
        indices[row, : len(i)] = i
    return scores, indices


def _unwrap(index: faiss.Index) -> faiss.Index:
    index = faiss.downcast_index(index)
    while isinstance(index, faiss.IndexPreTransform):
        index = faiss.downcast_index(index.index)
    return index


def _hnsw(index: faiss.Index):
    """The HNSW graph of an HNSW index (None for other kinds)."""
    inner = _unwrap(index)
    return inner.hnsw if hasattr(inner, "hnsw") else None


def _code_size(index: faiss.Index) -> int:
    inner = _unwrap(index)
    if isinstance(inner, faiss.IndexRefine):  # a compressed code to search plus one to refine with
        return _code_size(inner.base_index) + _code_size(inner.refine_index)
    if hasattr(inner, "storage"):  # HNSW: the codes live in its storage index
        inner = faiss.downcast_index(inner.storage)
    return int(getattr(inner, "code_size", 0))


def gpu_copy(index: faiss.Index) -> faiss.Index | None:
    """`index` cloned onto every GPU faiss sees, or None: faiss-cpu (no GPU functions), no GPU, or
    an index type faiss-gpu does not have (HNSW, for one), which then stays on the CPU."""
    if not hasattr(faiss, "index_cpu_to_all_gpus") or faiss.get_num_gpus() == 0:
        return None
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except (RuntimeError, AttributeError):
        return None


class FaissStructure:
    """A faiss index built from a factory string, searched with ParameterSpace settings, on the
    GPUs when faiss-gpu and a GPU are present (the `gpu` extra)."""

    def __init__(self, index: faiss.Index, spec: IndexSpec):
        self.index = index
        self.spec = spec
        self._searcher: faiss.Index | None | bool = False  # False: no GPU copy tried yet
        self.set_params(spec.params)

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def set_params(self, params: dict[str, float]) -> None:
        space = faiss.ParameterSpace()
        for key, value in params.items():
            try:
                space.set_index_parameter(self.index, key, float(value))
            except RuntimeError as exc:
                raise UserError(
                    f"index spec {self.spec.build!r}: faiss cannot set search parameter {key}={value} on this index "
                    f"({faiss_message(exc)}); IVF indexes take nprobe, HNSW indexes efSearch"
                ) from None
        self.spec = replace(self.spec, params=dict(params))
        self._searcher = False  # a GPU copy takes the CPU index's settings when it is made

    def effective_params(self) -> dict[str, float]:
        """The search settings in force, the spec's and faiss's defaults (what a run records)."""
        found: dict[str, float] = {}
        try:
            found["nprobe"] = faiss.extract_index_ivf(self.index).nprobe
        except RuntimeError:
            pass
        graph = _hnsw(self.index)
        if graph is not None:
            found["efSearch"] = graph.efSearch
        return {**found, **self.spec.params}

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._searcher is False:
            self._searcher = gpu_copy(self.index)
        searcher = self._searcher or self.index
        return searcher.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self.count))

    def stored_vectors(self, rows: np.ndarray) -> np.ndarray | None:
        inner = _unwrap(self.index)
        if not isinstance(inner, faiss.IndexFlat):  # other codes reconstruct only approximately
            return None
        return inner.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def code_size(self) -> int:
        """Bytes of one vector's stored codes (without ids, graph links or shared tables)."""
        return _code_size(self.index)

    def sizes(self) -> dict[str, int]:
        return {
            "index": int(faiss.serialize_index(self.index).nbytes),
            "code": self.code_size(),
            "rescore": 0,
        }

    def save(self, folder: Path) -> list[str]:
        atomic_write(
            folder / FAISS_FILE,
            lambda handle: faiss.write_index(self.index, faiss.PyCallbackIOWriter(handle.write)),
            binary=True,
        )
        return [FAISS_FILE]

    @staticmethod
    def load(folder: Path, spec: IndexSpec) -> FaissStructure:
        try:
            index = faiss.read_index(str(folder / FAISS_FILE))
        except RuntimeError as exc:
            raise UserError(
                f"{folder / FAISS_FILE}: corrupted index file, faiss cannot read it ({faiss_message(exc)})"
            ) from None
        return FaissStructure(index, spec)


def ivf_lists(index: faiss.Index) -> int | None:
    """The inverted-list count of an IVF index (through any pre-transform), or None."""
    try:
        return int(faiss.extract_index_ivf(index).nlist)
    except RuntimeError:
        return None


def build_faiss(
    spec: IndexSpec, chunks: Chunks, dimension: int, train_size: int, seed: int
) -> tuple[FaissStructure, dict[str, float]]:
    """Make the factory index; train it (IVF centroids, PQ/SQ codebooks) on a uniform sample of
    `train_size` vectors; add the corpus chunk by chunk. Returns the structure and timings."""
    index = faiss.index_factory(dimension, spec.build, faiss.METRIC_INNER_PRODUCT)
    lists = ivf_lists(index)
    documents = chunks.count() if lists is not None else 0
    if (
        lists is not None and lists > documents
    ):  # k-means cannot make more centroids than there are documents
        fewer = max(1, documents // 39)  # faiss' own floor: 39 training points per centroid
        log.warning(
            "index spec %r: %d inverted lists for %d documents; building IVF%d instead",
            spec.build,
            lists,
            documents,
            fewer,
        )
        spec = replace(spec, build=re.sub(r"IVF\d+", f"IVF{fewer}", spec.build, count=1))
        index = faiss.index_factory(dimension, spec.build, faiss.METRIC_INNER_PRODUCT)
    if "efConstruction" in spec.build_params:
        graph = _hnsw(index)
        if graph is None:
            raise UserError(
                f"index spec {spec.text!r}: efConstruction applies to HNSW indexes only"
            )
        graph.efConstruction = int(spec.build_params["efConstruction"])
    timings = {"train_s": 0.0}
    gpu = gpu_copy(index)
    work = gpu or index
    if not work.is_trained:
        started = time.perf_counter()
        sample = chunks.sample(train_size, seed)
        work.train(sample)
        timings["train_s"] = time.perf_counter() - started
        timings["train_vectors"] = len(sample)
    started = time.perf_counter()
    for block in chunks:
        work.add(np.ascontiguousarray(block, dtype=np.float32))
    timings["add_s"] = time.perf_counter() - started
    timings["gpus"] = faiss.get_num_gpus() if gpu is not None else 0
    return FaissStructure(faiss.index_gpu_to_cpu(gpu) if gpu is not None else index, spec), timings


class BinaryStructure:
    """Sign bits of each vector (d/8 bytes) searched by Hamming distance for a shortlist of
    `rescore * k` candidates, which are rescored with the float query and float document
    vectors (kept on disk, memory-mapped) and cut to k."""

    def __init__(self, codes: faiss.IndexBinary, vectors: np.ndarray, spec: IndexSpec):
        self.codes = codes
        self.vectors = vectors
        self.spec = spec
        self.rescore = spec.search_params()["rescore"]

    @property
    def count(self) -> int:
        return int(self.codes.ntotal)

    def set_params(self, params: dict[str, float]) -> None:
        self.spec = replace(self.spec, params=dict(params))
        self.rescore = self.spec.search_params()["rescore"]

    def effective_params(self) -> dict[str, float]:
        return self.spec.search_params()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, self.count)
        shortlist = min(self.count, max(k, int(round(self.rescore * k))))
        _, candidates = self.codes.search(
            quantize_embeddings(queries, precision="ubinary"), shortlist
        )
        rows = []
        for query, found in zip(queries, candidates):
            found = np.sort(found[found >= 0])  # sorted rows read a memory map in order
            rows.append(_ranked(found, self.vectors[found] @ query, k))
        return _padded(rows, k)

    def stored_vectors(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[rows], dtype=np.float32)

    def sizes(self) -> dict[str, int]:
        return {
            "index": int(faiss.serialize_index_binary(self.codes).nbytes),
            "code": int(self.codes.code_size),
            "rescore": int(self.vectors.nbytes),
        }

    def save(self, folder: Path) -> list[str]:
        atomic_write(
            folder / CODES_FILE,
            lambda handle: faiss.write_index_binary(
                self.codes, faiss.PyCallbackIOWriter(handle.write)
            ),
            binary=True,
        )
        if not (
            folder / VECTORS_FILE
        ).is_file():  # written by build_binary already when it streamed from disk
            atomic_write(
                folder / VECTORS_FILE, lambda handle: np.save(handle, self.vectors), binary=True
            )
        return [CODES_FILE, VECTORS_FILE]

    @staticmethod
    def load(folder: Path, spec: IndexSpec) -> BinaryStructure:
        try:
            codes = faiss.read_index_binary(str(folder / CODES_FILE))
            vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
        except (RuntimeError, ValueError, OSError) as exc:
            raise UserError(f"{folder}: corrupted binary index ({faiss_message(exc)})") from None
        if vectors.shape[0] != codes.ntotal:
            raise UserError(
                f"{folder}: corrupted binary index: {codes.ntotal} codes but {vectors.shape[0]} vectors"
            )
        return BinaryStructure(codes, vectors, spec)


def _write_vectors(path: Path, chunks: Chunks, count: int, dimension: int) -> None:
    """Stream the chunks into one .npy file (atomically), never holding the corpus in memory."""

    def write(handle) -> None:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f4", "fortran_order": False, "shape": (count, dimension)}
        )
        for block in chunks:
            handle.write(np.ascontiguousarray(block, dtype="<f4").tobytes())

    atomic_write(path, write, binary=True)


def build_binary(
    spec: IndexSpec, chunks: Chunks, dimension: int, folder: Path | None = None
) -> tuple[BinaryStructure, dict[str, float]]:
    """Pack each chunk's sign bits into a Hamming index. With `folder`, the float vectors for
    rescoring are streamed to `folder/vectors.npy` and memory-mapped; without, kept in memory."""
    started = time.perf_counter()
    codes = faiss.IndexBinaryFlat(((dimension + 7) // 8) * 8)
    for block in chunks:
        codes.add(quantize_embeddings(np.asarray(block, dtype=np.float32), precision="ubinary"))
    if folder is not None:
        _write_vectors(folder / VECTORS_FILE, chunks, int(codes.ntotal), dimension)
        vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
    else:
        vectors = chunks.stack()
    return BinaryStructure(codes, vectors, spec), {
        "train_s": 0.0,
        "add_s": time.perf_counter() - started,
    }


register_index_kind("faiss", build=build_faiss, load=FaissStructure.load)
register_index_kind("binary", build=build_binary, load=BinaryStructure.load, params={"rescore": 10})

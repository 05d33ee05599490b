"""The model behind an index, and chunked, resumable corpus encoding.

Documents are encoded a few batches at a time; a chunk is saved atomically under `<folder>/`
(`START-END.npy` dense, `START-END.npz` sparse CSR, rows START..END-1) every `chunk_seconds`
(30 s) or `chunk_size` documents, whichever comes first, so a killed build loses at most about
30 s of encoding on any machine, and a rerun continues after the last finished chunk.
`<folder>/state.json` records what the chunks were made from (model fingerprint, corpus hash,
document count); a rerun with other settings is refused rather than mixing vectors of two models.
A chunk that is damaged (cut short, unreadable, of the wrong shape or type) is encoded again; a
`state.json` that is damaged or missing beside chunks starts the encoding over, since nothing
then says which model made them. Either is a warning naming the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from rankdistill.core.atomic import atomic_write, atomic_write_json
from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint, runtime_fields, weights_hash
from rankdistill.encoders.asymmetric import document_weights
from rankdistill.encoders.models import EncodingModel, EncodingSettings, resolve_model
from rankdistill.retrieval.base import MEMO_CORPUS, OnBatch

log = logging.getLogger(__name__)

Vectors = np.ndarray | sp.csr_matrix
STATE = "state.json"
ENGINES = ("local", "ray")  # where corpus encoding runs: this process (or torchrun ranks), or Ray
STACKED = "vectors"  # vectors-<key>.npy: every chunk in one file, memory-mapped (Chunks.mapped)
CHUNK_SECONDS = 30.0  # a kill loses at most about this much encoding
CHUNK_NAME = re.compile(r"(\d{9})-(\d{9})")
NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"  # how a chunk file starts


@dataclass
class Encoder:
    """A dense (SentenceTransformer) or sparse (SPLADE SparseEncoder) model as an index sees it."""

    name: str
    sparse: bool
    encoding: EncodingModel  # the model and its concrete settings (precision, backend resolved)
    weights: str

    @property
    def model(self) -> Any:
        return self.encoding.model

    @property
    def batch_size(self) -> int:
        return self.encoding.settings.batch_size

    @property
    def precision(self) -> str:
        return self.encoding.settings.precision

    @property
    def backend(self) -> str:
        return self.encoding.settings.backend

    @property
    def max_length(self) -> int | None:
        """The documents' max length (an asymmetric student's query route has its own)."""
        from rankdistill.encoders.asymmetric import document_max_length

        return document_max_length(self.model)

    @property
    def normalized(self) -> bool:
        from rankdistill.retrieval.dense import normalizes

        return False if self.sparse else normalizes(self.model)

    @property
    def dimension(self) -> int:
        if self.sparse:  # the vocabulary the SPLADE head projects onto
            return int(self.encode_queries(["dimension"]).shape[1])
        return int(self.model.get_embedding_dimension())

    @property
    def fingerprint(self) -> str:
        """Everything that changes a vector: weights, kind, max length, normalisation, precision."""
        return make_fingerprint(
            "index-encoder",
            sparse=self.sparse,
            weights=self.weights,
            max_length=self.max_length,
            normalized=self.normalized,
            **runtime_fields(self.precision, self.backend),
        )

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "sparse" if self.sparse else "dense",
            "fingerprint": self.fingerprint,
            "weights_sha256": self.weights,
            "max_length": self.max_length,
            "normalized": self.normalized,
            "bf16": self.precision == "bf16",  # read by indexes built before `precision`
            "precision": self.precision,
            "backend": self.backend,
        }

    def encode_documents(
        self,
        texts: list[str],
        progress: bool = False,
        on_batch: OnBatch | None = None,
        memoise: bool = True,
    ) -> Vectors:
        """Vectors of `texts` in order; `on_batch(n)` runs after each batch the model encodes;
        `memoise=False` keeps no dense vector in the process memo (corpus chunks)."""
        if self.sparse:
            from rankdistill.retrieval.sparse import encode_sparse

            return encode_sparse(self.encoding, texts, False, progress, on_batch)
        from rankdistill.retrieval.dense import encode_documents

        return encode_documents(self.encoding, texts, progress, on_batch, memoise)

    def encode_queries(self, texts: list[str], progress: bool = False) -> Vectors:
        if self.sparse:
            from rankdistill.retrieval.sparse import encode_sparse

            return encode_sparse(self.encoding, texts, True, progress)
        from rankdistill.retrieval.dense import encode_queries

        return encode_queries(self.encoding, texts, progress)


def load_encoder(name: str, sparse: bool, settings: EncodingSettings | None = None) -> Encoder:
    """The model behind an index; `settings.backend` applies to dense models (sparse ones run in torch)."""
    path = resolve_model(name)
    if sparse:
        from rankdistill.retrieval.sparse import load_sparse_model

        encoding = load_sparse_model(path, settings)
    else:
        from rankdistill.retrieval.dense import load_dense_model

        encoding = load_dense_model(path, settings)
    weights = (
        weights_hash(path) if sparse else document_weights(path)
    )  # an asymmetric student: its documents' model
    return Encoder(name, sparse, encoding, weights)


def built_precision(built_with: dict[str, Any]) -> str:
    """The precision an index's vectors were made in (indexes made before `precision` say bf16)."""
    return built_with.get("precision") or ("bf16" if built_with.get("bf16") else "float32")


def check_same_model(built_with: dict[str, Any], encoder: Encoder, where: str | Path) -> None:
    """Refuse to search vectors of one model with queries of another."""
    if built_with.get("weights_sha256") != encoder.weights or built_with.get("type") != (
        "sparse" if encoder.sparse else "dense"
    ):
        raise UserError(
            f"{where}: index was built with model {built_with.get('name')!r} (weights sha256 "
            f"{str(built_with.get('weights_sha256'))[:12]}...), but the model given is {encoder.name!r} (weights sha256 "
            f"{encoder.weights[:12]}...): its vectors are not comparable. Search with the model the index was built "
            "with, or rebuild the index"
        )
    if built_with.get("fingerprint") != encoder.fingerprint:
        raise UserError(
            f"{where}: model {encoder.name!r} has the index's weights but other settings (max length "
            f"{encoder.max_length} vs {built_with.get('max_length')}, normalised {encoder.normalized} vs "
            f"{built_with.get('normalized')}, precision {encoder.precision} vs {built_precision(built_with)}, backend {encoder.backend} vs {built_with.get('backend', 'torch')}): load it with the index's settings"
        )


def corpus_hash(doc_ids: list[str], texts: Sequence[str]) -> str:
    """sha256 over the documents in order: ids and the texts the model sees."""
    digest = hashlib.sha256()
    for doc_id, text in zip(doc_ids, texts):
        digest.update(doc_id.encode())
        digest.update(b"\0")
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class Chunks:
    """An ordered list of vector blocks, each a saved file or an in-memory array: the one input
    every index builder reads, so a corpus never has to fit in memory as one matrix."""

    def __init__(self, items: list[Path | Vectors], sparse: bool, reused: int = 0):
        self.items = items
        self.sparse = sparse
        self.reused = reused  # chunks found finished on disk rather than encoded now

    @staticmethod
    def from_array(vectors: Vectors, chunk_size: int = 65536) -> Chunks:
        sparse = sp.issparse(vectors)
        items = [
            vectors[start : start + chunk_size] for start in range(0, vectors.shape[0], chunk_size)
        ]
        return Chunks(items, sparse)

    def load(self, item: Path | Vectors) -> Vectors:
        if not isinstance(item, Path):
            return item
        if self.sparse:
            return sp.load_npz(item).tocsr()
        return np.load(item, mmap_mode="r")

    def __iter__(self) -> Iterator[Vectors]:
        return (self.load(item) for item in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def count(self) -> int:
        return sum(block.shape[0] for block in self)

    def sample(self, size: int, seed: int) -> np.ndarray:
        """`size` rows drawn uniformly without replacement (all rows if there are fewer), as one
        float32 array in corpus order: the training set for IVF centroids and PQ codebooks."""
        sizes = [block.shape[0] for block in self]
        total = sum(sizes)
        rows = np.sort(
            np.random.default_rng(seed).choice(total, size=min(size, total), replace=False)
        )
        picked, start = [], 0
        for block, n in zip(self, sizes):
            local = rows[(rows >= start) & (rows < start + n)] - start
            if len(local):
                picked.append(np.asarray(block[local], dtype=np.float32))
            start += n
        return np.ascontiguousarray(np.concatenate(picked))

    def mapped(self, folder: Path) -> np.ndarray:
        """All dense rows as one float32 matrix memory-mapped from `folder/vectors-<key>.npy`,
        written once, atomically, block by block: a corpus of any size without its vectors in
        memory. The key hashes every chunk's name, inode, size and modification time (a chunk is
        saved by an atomic rename, so one written again has a new inode): chunks written again get
        a new file (the old one is removed), and a stale one is never read.
        Copy-on-write, so a caller may write to it."""
        stats = [
            f"{item.name}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
            for item, st in ((item, item.stat()) for item in self.items if isinstance(item, Path))
        ]
        if len(stats) != len(self.items):
            raise ValueError("Chunks.mapped needs chunks saved on disk")
        key = hashlib.sha256("\n".join(stats).encode()).hexdigest()[:16]
        path = folder / f"{STACKED}-{key}.npy"
        if path.is_file():
            try:
                return np.load(path, mmap_mode="c", allow_pickle=False)
            except (OSError, ValueError):
                pass  # damaged: written again below
        width, rows = next(iter(self)).shape[1], self.count()

        def write(handle: Any) -> None:
            header = {"descr": "<f4", "fortran_order": False, "shape": (rows, width)}
            np.lib.format.write_array_header_1_0(handle, header)
            for block in self:
                handle.write(np.ascontiguousarray(block, dtype="<f4").tobytes())

        atomic_write(path, write, binary=True)
        for old in folder.glob(f"{STACKED}-*.npy"):
            if old != path:
                old.unlink(missing_ok=True)
        return np.load(path, mmap_mode="c", allow_pickle=False)

    def stack(self) -> Vectors:
        """All rows as one matrix (sparse CSR or dense float32)."""
        blocks = list(self)
        if self.sparse:
            return sp.vstack(blocks, format="csr")
        return np.ascontiguousarray(
            np.concatenate([np.asarray(b) for b in blocks]), dtype=np.float32
        )


def piece_rows(encoder: Encoder) -> int:
    """Rows handed to the model at a time inside a chunk (the local loop looks at the clock after
    each): every engine cuts a chunk into the same pieces, so they write the same bytes."""
    return max(1, encoder.batch_size) * 4


def save_chunk(
    encoder: Encoder, folder: Path, start: int, end: int, suffix: str, parts: list[Vectors]
) -> None:
    """Rows start..end-1, encoded in `parts`, saved atomically as the chunk named by its range."""
    vectors = sp.vstack(parts, format="csr") if encoder.sparse else np.concatenate(parts)
    _save_chunk(folder / f"{start:09d}-{end:09d}{suffix}", vectors)


def _save_chunk(path: Path, vectors: Vectors) -> None:
    if sp.issparse(vectors):
        atomic_write(
            path, lambda handle: sp.save_npz(handle, vectors.tocsr(), compressed=False), binary=True
        )
    else:
        atomic_write(
            path,
            lambda handle: np.save(handle, np.ascontiguousarray(vectors, dtype=np.float32)),
            binary=True,
        )


def encode_chunks(
    encoder: Encoder,
    texts: Sequence[str],
    folder: str | Path,
    chunk_size: int,
    source: dict[str, Any],
    progress: bool = True,
    *,
    chunk_seconds: float = CHUNK_SECONDS,
    shard: Shard | None = None,
    engine: str = "local",
) -> Chunks:
    """Encode `texts` into `folder` in chunks named by their row range, each saved once it holds
    `chunk_size` rows or `chunk_seconds` of work, so a kill loses at most that. A rerun with the
    same model and corpus encodes only the rows no saved chunk covers. With a `shard` of several
    ranks each encodes the gaps in its block of rows; all return once the chunks cover every row.
    `engine: ray` encodes the gaps on Ray instead, in whole chunks (retrieval.ray_encode)."""
    shard = shard or Shard()
    if engine not in ENGINES:
        raise UserError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "ray" and shard.world_size > 1:
        raise UserError("engine: ray runs its own workers; launch it once, not under torchrun")
    if chunk_size < 1:
        raise UserError(f"chunk size must be >= 1, got {chunk_size}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".npz" if encoder.sparse else ".npy"
    if shard.is_main:
        _prepare_folder(
            folder,
            {"model": encoder.fingerprint, "count": len(texts), **source},
            suffix,
            len(texts),
        )
    shard.barrier()  # every rank sees the same saved chunks before any writes one

    saved = _saved_chunks(folder, suffix)
    reused = len(saved)
    if reused:
        log.info(
            "%s: reusing %d finished chunks (%d documents)",
            folder,
            reused,
            sum(end - start for start, end, _ in saved),
        )
    # ranks take contiguous blocks of whole chunks, so their chunks (and batches) are the ones a
    # single process would make
    first_chunk, end_chunk = shard.bounds(-(-len(texts) // chunk_size))
    lo, hi = first_chunk * chunk_size, min(end_chunk * chunk_size, len(texts))
    gaps, position = [], lo
    for start, end, _ in saved:
        if end <= lo or start >= hi:
            continue
        if start > position:
            gaps.append((position, start))
        position = max(position, end)
    if position < hi:
        gaps.append((position, hi))
    if engine == "ray":
        from rankdistill.retrieval.ray_encode import encode_on_ray, pieces_of

        whole = [piece for start, end in gaps for piece in pieces_of(start, end, chunk_size)]
        encode_on_ray(encoder, texts, folder, whole, suffix, progress)
        _remove_stale_temps(folder)  # a worker Ray killed and retried left its half-written chunk
        gaps = []
    bar = tqdm(
        total=sum(end - start for start, end in gaps),
        desc="encoding",
        unit="doc",
        disable=not progress,
    )
    piece = piece_rows(encoder)
    memoise = len(texts) <= MEMO_CORPUS  # a large corpus stays out of the process memo
    for gap_start, gap_end in gaps:
        position, pending = gap_start, []
        chunk_start, started = position, time.monotonic()
        while position < gap_end:
            take = min(piece, chunk_size - (position - chunk_start), gap_end - position)
            pending.append(
                encoder.encode_documents(
                    texts[position : position + take], on_batch=bar.update, memoise=memoise
                )
            )
            position += take
            if (
                position - chunk_start >= chunk_size
                or position == gap_end
                or time.monotonic() - started >= chunk_seconds
            ):
                save_chunk(encoder, folder, chunk_start, position, suffix, pending)
                pending, chunk_start, started = [], position, time.monotonic()
    bar.close()
    shard.barrier()

    saved = _saved_chunks(folder, suffix)
    missing = _missing_rows(saved, len(texts))
    if missing:
        raise UserError(
            f"{folder}: rows {missing[0]}..{missing[1]} have no saved chunk; rerun to encode them"
        )
    chunks = Chunks([path for _, _, path in saved], encoder.sparse, reused=reused)
    width = None
    for (start, end, path), block in zip(saved, chunks):
        if block.shape[0] != end - start:
            raise UserError(
                f"{path}: holds {block.shape[0]} vectors, expected {end - start}; delete it and rerun"
            )
        if width is not None and block.shape[1] != width:
            raise UserError(
                f"{path}: holds vectors of {block.shape[1]} dimensions, the chunks before it "
                f"{width}; delete it and rerun"
            )
        width = block.shape[1]
    return chunks


def shared_folder(root: str | Path, fingerprint: str, digest: str) -> Path:
    """Where builds and distillation share one encoding of the same texts by the same encoder
    (`fingerprint`: model weights, max length, normalisation, precision, backend; `digest` =
    `corpus_hash` of ids and texts): `<root>/<fingerprint>-<texts hash>`, 16 hex digits each."""
    return Path(root) / f"{fingerprint[:16]}-{digest[:16]}"


def shared_vectors(root: str | Path, fingerprint: str, digest: str, rows: int) -> np.ndarray | None:
    """The dense vectors of a finished shared encoding (`shared_folder`), memory-mapped
    (`Chunks.mapped`), or None when its chunks are gone or do not cover `rows` rows."""
    folder = shared_folder(root, fingerprint, digest)
    saved = _saved_chunks(folder, ".npy") if folder.is_dir() else []
    if not saved or _missing_rows(saved, rows):
        return None
    return Chunks([path for _, _, path in saved], sparse=False).mapped(folder)


def encode_cached(
    model: str,
    ids: list[str],
    texts: Sequence[str],
    root: str | Path,
    *,
    encoding: EncodingSettings | None = None,
    progress: bool = True,
    engine: str = "local",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Dense vectors of `texts` by `model`, encoded once into `shared_folder(root, ...)` in atomic,
    resumable chunks (`encode_chunks`), so a rerun, another seed or an index build of the same
    corpus with the same settings (`BuildSettings.chunks_dir`) encodes nothing; `engine` as there. Returns the
    (len(texts), d) float32 vectors, memory-mapped (`Chunks.mapped`), and the encoder's record (`Encoder.record`) plus the folder."""
    encoder = load_encoder(model, False, encoding)
    digest = corpus_hash(ids, texts)
    folder = shared_folder(root, encoder.fingerprint, digest)
    chunks = encode_chunks(
        encoder, texts, folder, 4096, {"corpus_sha256": digest}, progress, engine=engine
    )
    return chunks.mapped(folder), {
        **encoder.record(),
        "dimension": encoder.dimension,
        "encodings": str(folder),
        "texts_sha256": digest,
    }


def _prepare_folder(folder: Path, state: dict[str, Any], suffix: str, count: int) -> None:
    """Check or write the encoding's state; drop what cannot be reused (files of an encoding from
    before chunks were timed, chunks whose state.json is damaged or missing, temp files of a
    killed writer, chunks that overlap an earlier one or are damaged)."""
    state_path = folder / STATE
    previous, problem = _read_state(state_path, state)
    if previous is None and problem is None and _saved_chunks(folder, suffix):
        problem = "missing beside saved chunks, so nothing says which model made them"
    if problem is not None:
        log.warning("%s: %s; encoding again from the start", state_path, problem)
        _remove_chunks(folder)
    if (
        previous is not None and "chunk_size" in previous
    ):  # made before chunks were timed: numbered, not ranged
        log.info("%s: encoding from before chunks were timed; starting it again", folder)
        _remove_chunks(folder)
        previous = None
    if previous is not None and previous != state:
        changed = sorted(
            key for key in set(state) | set(previous) if state.get(key) != previous.get(key)
        )
        raise UserError(
            f"{folder}: holds vectors of an unfinished encoding with other settings ({', '.join(changed)} differ); "
            "use another output folder or delete this one"
        )
    if previous is None:
        atomic_write_json(state_path, state)
    _remove_stale_temps(folder)
    position = 0
    for start, end, path in _saved_chunks(folder, suffix):
        if start < position or end > count:
            path.unlink()
            continue
        problem = _chunk_problem(path, end - start)
        if problem is not None:  # cut short or damaged: its rows are encoded again
            log.warning("%s: %s; encoding its rows again", path, problem)
            path.unlink()
        else:
            position = end


def _read_state(path: Path, state: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(the state.json written before, None), (None, None) where there is none, or (None, what is
    wrong with it): unreadable, not an object, or a field of another type than the one written."""
    if not path.exists():
        return None, None
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return None, f"unreadable ({type(error).__name__}: {error})"
    if not isinstance(previous, dict):
        return None, f"not an encoding state (a JSON {type(previous).__name__})"
    for key, value in state.items():
        found = previous.get(key)
        if value is not None and found is not None and type(found) is not type(value):
            return (
                None,
                f"field {key!r}: expected {type(value).__name__}, got {type(found).__name__}",
            )
    return previous, None


def _remove_stale_temps(folder: Path) -> None:
    """The temp files of chunk writers killed mid-write (every writer of `folder` has finished)."""
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def _remove_chunks(folder: Path) -> None:
    """Every chunk and the state.json of an encoding that starts over."""
    for old in [*folder.glob("[0-9]*.np[yz]"), folder / STATE, *folder.glob(f"{STACKED}-*.npy")]:
        old.unlink(missing_ok=True)


def _chunk_problem(path: Path, rows: int) -> str | None:
    """What is wrong with a saved chunk of `rows` rows, or None: it must open (its header, not
    its data, for a CSR `.npz`) as a 2-d array of that many rows, float32 when dense."""
    sparse = path.suffix == ".npz"
    try:
        magic = ZIP_MAGIC if sparse else NPY_MAGIC
        with path.open("rb") as handle:  # np.load calls a file of another kind pickled data
            if handle.read(len(magic)) != magic:
                return "not a .npz archive" if sparse else "not a .npy array file"
        if sparse:
            with np.load(path, allow_pickle=False) as saved:
                shape = tuple(int(n) for n in saved["shape"])
            dtype = None
        else:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            shape, dtype = array.shape, array.dtype
            del array
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
        TypeError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
    ) as error:
        return f"unreadable ({type(error).__name__}: {error})"
    if len(shape) != 2 or shape[0] != rows:
        return f"an array of shape {shape}, expected {rows} rows of vectors"
    if dtype is not None and dtype != np.float32:
        return f"an array of {dtype}, expected float32"
    return None


def _missing_rows(saved: list[tuple[int, int, Path]], rows: int) -> tuple[int, int] | None:
    """The first range of rows 0..rows-1 that no saved chunk (by start row) covers, or None."""
    covered = 0
    for start, end, _ in saved:
        if start != covered:
            return covered, start
        covered = end
    return (covered, rows) if covered != rows else None


def _saved_chunks(folder: Path, suffix: str) -> list[tuple[int, int, Path]]:
    """(start, end, path) of every saved chunk, by start row."""
    found = []
    for path in folder.glob(f"*{suffix}"):
        match = CHUNK_NAME.fullmatch(path.stem)
        if match and int(match[1]) < int(match[2]):
            found.append((int(match[1]), int(match[2]), path))
    return sorted(found)

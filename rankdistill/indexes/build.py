"""`rankdistill index build`: encode a corpus in resumable chunks, build the structure a spec
names, write its files and then, last, the manifest.

Folder layout:

    DIR/chunks/        encoded corpus chunks + state.json (removed after a build unless kept)
    DIR/index.faiss    faiss indexes          | codes.faiss + vectors.npy   binary
    DIR/postings.npz   inverted               | seismic.index + forward.npz  seismic
    DIR/manifest.json  written last: its presence means the index is complete
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rankdistill.core.config import check_fields, checked
from rankdistill.core.distributed import Shard
from rankdistill.core.errors import UserError
from rankdistill.core.provenance import provenance
from rankdistill.data.beir import BeirDataset
from rankdistill.data.open import corpus_texts
from rankdistill.encoders.models import EncodingSettings
from rankdistill.indexes.load import SearchIndex, open_index
from rankdistill.indexes.manifest import MANIFEST, describe_files, read_manifest, write_manifest
from rankdistill.indexes.spec import check_factory, parse_spec
from rankdistill.indexes.structures import build_structure
from rankdistill.retrieval.encode import (
    ENGINES,
    corpus_hash,
    encode_chunks,
    load_encoder,
    shared_folder,
)

log = logging.getLogger(__name__)

CHUNKS = "chunks"


def _build_encoding() -> EncodingSettings:
    return EncodingSettings(backend="auto")  # an index picks the fastest backend it can record


@dataclass
class BuildSettings:
    """How an index is built: how its corpus is encoded (`encoding`, the one settings type every
    encoder takes; its resolved precision and backend are recorded and used again for queries)
    and how the encoding is chunked, trained and kept."""

    encoding: EncodingSettings = field(default_factory=_build_encoding)
    chunk_size: int = checked(4096, ge=1)
    train_size: int = checked(100_000, ge=1)
    seed: int = checked(13, ge=0)
    keep_chunks: bool = False
    # A folder shared by builds (e.g. by runs): chunks go to <chunks_dir>/<encoder>-<corpus>/ and
    # are kept, so another build of the same corpus by the same encoder encodes nothing.
    chunks_dir: str | None = None
    # Where the corpus is encoded: local (this process, or torchrun ranks) or ray (a Ray Data
    # pipeline; byte-identical chunks, rankdistill.retrieval.ray_encode)
    engine: str = checked("local", choices=ENGINES)

    def record(self) -> dict[str, Any]:
        """The settings as a manifest records them (flat, as manifests always have); not the
        engine, which changes where the vectors are made, not what they are."""
        flat = {k: v for k, v in asdict(self).items() if k not in ("encoding", "engine")}
        return {**asdict(self.encoding), **flat}


def _clear(output: Path) -> None:
    """Remove a previous index (manifest first, so the folder stops counting as complete)."""
    (output / MANIFEST).unlink(missing_ok=True)
    for path in output.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _library(kind: str) -> dict[str, str]:
    """The library whose file format the index files are in."""
    name = {"inverted": "scipy", "seismic": "pyseismic-lsr"}.get(kind, "faiss-cpu")
    try:
        return {name: metadata.version(name)}
    except metadata.PackageNotFoundError:
        return {}


def build_index(
    model: str,
    dataset: BeirDataset | str,
    spec_text: str,
    output: str | Path,
    *,
    settings: BuildSettings | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> SearchIndex:
    """The index `spec_text` names (a faiss `index_factory` string, `inverted` or `seismic`)
    over `dataset`'s corpus (a dataset already open, or a name or folder) encoded by `model`,
    written to `output` and opened, ready to search by query text::

        index = rd.build_index("all-MiniLM-L6-v2", rd.open_dataset("scifact"), "Flat", "idx/minilm")
        rd.evaluate(rd.open_dataset("scifact"), index)

    A rerun after a kill resumes from the finished chunks (`write_index`)."""
    write_index(
        model, dataset, spec_text, output, settings=settings, overwrite=overwrite, progress=progress
    )
    return open_index(output, model=model, encoding=(settings or BuildSettings()).encoding)


def write_index(
    model: str,
    dataset: BeirDataset | str,
    spec_text: str,
    output: str | Path,
    *,
    settings: BuildSettings | None = None,
    data_root: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Write the index `spec_text` names over `dataset`'s corpus (open, or a name or folder
    found under `data_root`) encoded by `model` into `output`; a rerun after a kill resumes from
    the finished chunks. Returns the manifest, written last. With a `shard` of several ranks
    (torchrun) the ranks encode blocks of the chunks; rank 0 then trains and fills the structure
    and writes the manifest, and every rank returns it."""
    settings = settings or BuildSettings()
    check_fields(settings)
    check_fields(settings.encoding)
    shard = shard or Shard()
    spec = parse_spec(spec_text)
    output = Path(output)
    if (output / MANIFEST).is_file():
        if not overwrite:
            raise UserError(
                f"{output}: already holds a complete index; pass --overwrite to rebuild it"
            )
        if shard.is_main:
            _clear(output)
    shard.barrier()
    if settings.train_size < 1:
        raise UserError(f"train size must be >= 1, got {settings.train_size}")
    started = time.perf_counter()

    doc_ids, texts, dataset_path = corpus_texts(dataset, data_root)
    dataset_name = dataset.name if isinstance(dataset, BeirDataset) else dataset
    encoder = load_encoder(model, spec.is_sparse, settings.encoding)
    dimension = encoder.dimension
    check_factory(spec, dimension)  # a bad factory string fails before hours of encoding
    digest = corpus_hash(doc_ids, texts)

    encode_started = time.perf_counter()
    chunks_folder = output / CHUNKS
    if settings.chunks_dir:
        chunks_folder = shared_folder(settings.chunks_dir, encoder.fingerprint, digest)
    chunks = encode_chunks(
        encoder,
        texts,
        chunks_folder,
        settings.chunk_size,
        {"corpus_sha256": digest},
        progress,
        shard=shard,
        engine=settings.engine,
    )
    if not shard.is_main:
        shard.barrier()  # rank 0 builds the structure and writes the manifest
        return read_manifest(output)
    if chunks.reused:
        log.info(
            "%s: resumed, %d of %d chunks were already encoded", output, chunks.reused, len(chunks)
        )
    encode_s = time.perf_counter() - encode_started
    structure, timings = build_structure(
        spec, chunks, dimension, settings.train_size, settings.seed, folder=output
    )
    names = structure.save(output)

    manifest = {
        "spec": spec.text,
        "build": spec.build,
        "build_params": spec.build_params,
        "kind": spec.kind,
        "search_params": structure.effective_params(),
        "metric": "inner_product",
        "dimension": dimension,
        "count": len(doc_ids),
        "model": encoder.record(),
        "dataset": {"name": dataset_name, "path": str(dataset_path), "corpus_sha256": digest},
        "settings": {
            **settings.record(),
            "max_length": encoder.max_length,
            "precision": encoder.precision,
            "backend": encoder.backend,
        },
        "build_seconds": {
            "encode": round(encode_s, 3),
            "reused_chunks": chunks.reused,
            **{key: round(value, 3) for key, value in timings.items()},
            "total": round(time.perf_counter() - started, 3),
        },
        "library": _library(spec.kind),
        "files": describe_files(output, names),
        "provenance": provenance(),
        "doc_ids": doc_ids,
    }
    write_manifest(output, manifest)
    if not settings.keep_chunks:
        shutil.rmtree(output / CHUNKS, ignore_errors=True)
    shard.barrier()
    return manifest

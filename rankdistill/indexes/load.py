"""Open a built index and search it: by vectors, or by query text as a retriever
(`Retriever.search(queries, k) -> Results`), which is how `rankdistill evaluate --index` and
`rankdistill index search` use it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from rankdistill.core.errors import UserError
from rankdistill.data.beir import join_title_text
from rankdistill.encoders.models import EncodingSettings
from rankdistill.indexes.manifest import read_manifest, verify_files
from rankdistill.indexes.spec import parse_params, parse_spec
from rankdistill.indexes.structures import Structure, load_structure
from rankdistill.retrieval.base import Corpus, Results, to_results
from rankdistill.retrieval.encode import (
    Encoder,
    Vectors,
    built_precision,
    check_same_model,
    corpus_hash,
    load_encoder,
    shared_vectors,
)


class SearchIndex:
    """A complete index folder, checked and loaded."""

    def __init__(
        self,
        folder: Path,
        manifest: dict[str, Any],
        structure: Structure,
        encoder: Encoder | None,
        encoding: EncodingSettings,
    ):
        self.folder = folder
        self.manifest = manifest
        self.structure = structure
        self.doc_ids: list[str] = manifest["doc_ids"]
        self.spec = f"index:{structure.spec.text}:{manifest['model']['name']}"
        self._encoder = encoder
        self._encoding = encoding

    @property
    def encoder(self) -> Encoder:
        """The model the index was built with (loaded on first use, checked against the manifest)."""
        if self._encoder is None:
            self._encoder = _load_checked_encoder(self.folder, self.manifest, None, self._encoding)
        return self._encoder

    def search_params(self) -> dict[str, float]:
        return self.structure.effective_params()

    def index(self, corpus: Corpus) -> None:
        """Nothing to build: check that `corpus` is the one the index was built from."""
        built_from = self.manifest.get("dataset", {})
        if set(corpus) != set(self.doc_ids):
            missing = len(set(self.doc_ids) - set(corpus))
            extra = len(set(corpus) - set(self.doc_ids))
            raise UserError(
                f"{self.folder}: index was built from another corpus ({built_from.get('name')!r}, {len(self.doc_ids)} "
                f"documents): {missing} of its documents are not in this corpus and {extra} of this corpus's are not indexed"
            )
        texts = [join_title_text(corpus[doc_id]) for doc_id in self.doc_ids]
        if (
            built_from.get("corpus_sha256")
            and corpus_hash(self.doc_ids, texts) != built_from["corpus_sha256"]
        ):
            raise UserError(
                f"{self.folder}: the corpus has the index's document ids but other texts: rebuild the index"
            )

    def search_vectors(self, queries: Vectors, k: int):
        return self.structure.search(queries, k)

    def score_candidates(
        self,
        queries: dict[str, str],
        candidates: dict[str, list[str]],
        doc_text: Callable[[str], str],
    ) -> dict[str, np.ndarray]:
        """The index's score of each candidate document per query: the query vector against the
        document vectors the index stores. Documents are encoded again (`doc_text` gives their
        text) only where the structure keeps lossy codes."""
        position = {doc_id: row for row, doc_id in enumerate(self.doc_ids)}
        query_ids = list(candidates)
        encoded = self.encoder.encode_queries([queries[q] for q in query_ids])
        scores: dict[str, np.ndarray] = {}
        for row, query_id in enumerate(query_ids):
            docs = self.structure.stored_vectors(
                np.array([position[d] for d in candidates[query_id]], dtype=np.int64)
            )
            if docs is None:
                docs = self.encoder.encode_documents([doc_text(d) for d in candidates[query_id]])
            product = docs @ encoded[row : row + 1].T
            scores[query_id] = np.asarray(
                product.toarray() if sp.issparse(product) else product, dtype=np.float32
            ).reshape(-1)
        return scores

    def search(self, queries: dict[str, str], k: int) -> Results:
        query_ids = list(queries)
        encoded = self.encoder.encode_queries([queries[q] for q in query_ids])
        scores, indices = self.structure.search(encoded, k)
        return to_results(query_ids, self.doc_ids, indices, scores)


def _load_checked_encoder(
    folder: Path, manifest: dict[str, Any], model: str | None, encoding: EncodingSettings
) -> Encoder:
    built_with = manifest["model"]
    settings = EncodingSettings(
        encoding.batch_size,
        built_with.get("max_length"),
        encoding.device,
        built_precision(built_with),
        built_with.get("backend", "torch"),
    )
    encoder = load_encoder(model or built_with["name"], built_with["type"] == "sparse", settings)
    check_same_model(built_with, encoder, folder)
    return encoder


def open_index(
    folder: str | Path,
    model: str | None = None,
    *,
    params: str | dict[str, float] | None = None,
    encoding: EncodingSettings | None = None,
    verify: bool = True,
) -> SearchIndex:
    """Load the index in `folder`. `model`, if given, must be the model it was built with (it is
    checked, then used for queries); `params` override the spec's search settings
    (`nprobe=64`); `encoding` gives the batch size and device queries are encoded with (their
    length, precision and backend are the ones the index was built with, from its manifest);
    `verify` checks every file against the manifest's sizes and checksums."""
    encoding = encoding or EncodingSettings()
    folder = Path(folder)
    manifest = read_manifest(folder)
    if verify:
        verify_files(folder, manifest)
    spec = parse_spec(manifest["spec"])
    if spec.kind != manifest["kind"]:
        raise UserError(
            f"{folder}: damaged manifest, spec {manifest['spec']!r} is not of kind {manifest['kind']!r}"
        )
    encoder = _load_checked_encoder(folder, manifest, model, encoding) if model else None
    structure = load_structure(spec, folder)
    if structure.count != manifest["count"]:
        raise UserError(
            f"{folder}: corrupted index: it holds {structure.count} vectors, the manifest {manifest['count']}"
        )
    if params:
        overrides = parse_params(params) if isinstance(params, str) else params
        structure.set_params(spec.with_params(overrides).params)
    return SearchIndex(folder, manifest, structure, encoder, encoding)


def index_vectors(folder: str | Path) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """Every document vector a complete dense index stores exactly, in its document order, with
    its manifest: what query-side training reads instead of encoding the corpus again. Memory-
    mapped from the shared encoding the index was built from, when that is still there and agrees
    with the index (a run's `<output_dir>/encodings`); else copied out of the index."""
    index = open_index(folder)
    if index.manifest["model"]["type"] != "dense":
        raise UserError(f"{folder}: holds sparse vectors; query-side training needs a dense index")
    count = index.structure.count
    mapped = _shared_encoding(index.manifest, count)
    if mapped is not None:
        ends = np.array([0, count - 1], dtype=np.int64)
        stored = index.structure.stored_vectors(ends)
        if stored is not None and np.array_equal(np.asarray(mapped[ends]), stored):
            return index.doc_ids, mapped, index.manifest
    vectors = index.structure.stored_vectors(np.arange(count, dtype=np.int64))
    if vectors is None:
        raise UserError(
            f"{folder}: a {index.manifest['spec']} index keeps only lossy codes; query-side training needs exact vectors (e.g. Flat)"
        )
    return index.doc_ids, np.ascontiguousarray(vectors, dtype=np.float32), index.manifest


def _shared_encoding(manifest: dict[str, Any], count: int) -> np.ndarray | None:
    root = manifest.get("settings", {}).get("chunks_dir")
    fingerprint = manifest.get("model", {}).get("fingerprint")
    digest = manifest.get("dataset", {}).get("corpus_sha256")
    if not (root and fingerprint and digest):
        return None
    return shared_vectors(root, fingerprint, digest, count)

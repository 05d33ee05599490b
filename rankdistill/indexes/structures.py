"""One entry point to build, save and load any index structure a spec names."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from rankdistill.indexes.encode import Chunks, Vectors
from rankdistill.indexes.spec import IndexSpec


class Structure(Protocol):
    spec: IndexSpec

    @property
    def count(self) -> int: ...

    def set_params(self, params: dict[str, float]) -> None:
        """Change the search-time settings (nprobe, efSearch, rescore, ...)."""

    def effective_params(self) -> dict[str, float]:
        """The search settings in force, defaults included."""

    def search(self, queries: Vectors, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row indices), each (queries x k), best first, padded with index -1."""

    def stored_vectors(self, rows: np.ndarray) -> Vectors | None:
        """The stored vectors of `rows` (float32, or sparse CSR), or None where the structure
        keeps only lossy codes: what lets an index score given documents without re-encoding."""

    def sizes(self) -> dict[str, int]:
        """Bytes of the searched structure ("index"), of one vector's code ("code", 0 where a
        vector has no fixed-size code) and of the float vectors it rescores with ("rescore",
        memory-mapped from disk for binary)."""

    def save(self, folder: Path) -> list[str]:
        """Write the structure's files into `folder` (atomically); returns their names."""


def build_structure(
    spec: IndexSpec,
    chunks: Chunks,
    dimension: int,
    train_size: int = 100_000,
    seed: int = 13,
    folder: Path | None = None,
) -> tuple[Structure, dict[str, float]]:
    """Build what `spec` names from the chunks; returns it and its timings (train_s, add_s)."""
    if spec.kind == "inverted":
        from rankdistill.indexes.inverted import build_inverted

        return build_inverted(spec, chunks, dimension)
    if spec.kind == "seismic":
        from rankdistill.indexes.seismic_index import build_seismic

        return build_seismic(spec, chunks, dimension)
    if spec.kind == "binary":
        from rankdistill.indexes.dense import build_binary

        return build_binary(spec, chunks, dimension, folder)
    from rankdistill.indexes.dense import build_faiss

    return build_faiss(spec, chunks, dimension, train_size, seed)


def load_structure(spec: IndexSpec, folder: Path) -> Structure:
    if spec.kind == "inverted":
        from rankdistill.indexes.inverted import InvertedStructure

        return InvertedStructure.load(folder, spec)
    if spec.kind == "seismic":
        from rankdistill.indexes.seismic_index import SeismicStructure

        return SeismicStructure.load(folder, spec)
    if spec.kind == "binary":
        from rankdistill.indexes.dense import BinaryStructure

        return BinaryStructure.load(folder, spec)
    from rankdistill.indexes.dense import FaissStructure

    return FaissStructure.load(folder, spec)

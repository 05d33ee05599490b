"""One entry point to build, save and load any index structure a spec names."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Protocol

import numpy as np

from rankdistill.indexes.registry import index_kinds
from rankdistill.indexes.spec import IndexSpec
from rankdistill.retrieval.encode import Chunks, Vectors


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
    build = index_kinds()[spec.kind].build
    offered = {"train_size": train_size, "seed": seed, "folder": folder}
    taken = inspect.signature(build).parameters  # each kind's build takes the options it uses
    return build(spec, chunks, dimension, **{k: v for k, v in offered.items() if k in taken})


def load_structure(spec: IndexSpec, folder: Path) -> Structure:
    return index_kinds()[spec.kind].load(folder, spec)

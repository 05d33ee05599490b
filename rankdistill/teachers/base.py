"""The interface every teacher (the slow, strong ranker being distilled) implements."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Protocol

import numpy as np


class Teacher(Protocol):
    fingerprint: str
    """A stable hash of everything that determines the scores (weights, max length, activation,
    prompt): two teachers with the same fingerprint must give the same scores."""

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """One float per pair, the pairs being zip(queries, docs)."""


def make_fingerprint(kind: str, **settings: object) -> str:
    """A 32-hex-digit hash of a teacher's kind and every setting that changes its scores."""
    payload = json.dumps({"kind": kind, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")
_weights_cache: dict[tuple, str] = {}


def weights_hash(folder: str | Path) -> str:
    """sha256 over a model folder's weight files (names and bytes); a hub id hashes as itself.
    Cached per process by file sizes and modification times."""
    folder = Path(folder)
    if not folder.is_dir():
        return hashlib.sha256(str(folder).encode()).hexdigest()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    signature = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if signature not in _weights_cache:
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        _weights_cache[signature] = digest.hexdigest()
    return _weights_cache[signature]

"""Fingerprints: stable hashes of what determines a model's outputs (teacher scores, index
vectors), so caches keyed by them are reused exactly when nothing that matters changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


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


def runtime_fields(precision: str, backend: str = "torch") -> dict[str, object]:
    """What a fingerprint records about how a model runs: its precision (`precision_fields`) and
    its backend when that is not torch, so earlier torch fingerprints stay what they were."""
    from rankdistill.core.hardware import precision_fields

    return {**precision_fields(precision), **({"backend": backend} if backend != "torch" else {})}

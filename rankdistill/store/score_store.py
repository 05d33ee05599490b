"""A content-addressed, append-only store of teacher scores that survives kills and shares
one folder between concurrent writers.

Layout: `root/<fingerprint>/teacher.json` describes the teacher; `shard-*.bin` files hold the
scores. Every flush writes a new shard atomically and no shard is ever rewritten, so a killed
writer loses only what it had not flushed, and writers never share a mutable file.

Shard format (little-endian):
    8 bytes   magic b"RDSCORE1"
    8 bytes   n, the number of records (uint64)
    16n bytes keys (`pair_digest`)
    4n bytes  scores (float32)
    32 bytes  sha256 of everything before it
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from rankdistill.core.atomic import atomic_write, atomic_write_json, check_writable
from rankdistill.core.errors import InputError, UserError
from rankdistill.core.provenance import provenance
from rankdistill.store.keys import KEY_BYTES, pair_digests, rank_of
from rankdistill.teachers.base import Batched, Teacher

MAGIC = b"RDSCORE1"
HEADER = struct.Struct("<8sQ")
CHECKSUM_BYTES = 32
SHARD_GLOB = "shard-*.bin"
# atomic_write's temp files are named ".<name>.<random>.tmp"; one this old belongs to a killed writer.
STALE_TEMP_SECONDS = 3600
FLUSH_SECONDS = 30.0  # a kill loses at most this much scoring (plus the batch in progress)
FINGERPRINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ScoreStore:
    """Teacher scores for (query, doc) pairs, keyed by content, for one teacher fingerprint.

    All shards are loaded into memory on open; `refresh` picks up shards that other processes
    wrote since. When a pair was stored more than once (concurrent writers), the score in the
    first shard by name (i.e. by write time) wins.
    """

    def __init__(self, root: str | Path, fingerprint: str, info: dict[str, Any] | None = None):
        if not isinstance(fingerprint, str) or not FINGERPRINT.fullmatch(fingerprint):
            raise UserError(
                f"teacher fingerprint {fingerprint!r} cannot name a store folder: "
                "use 1-128 letters, digits, '.', '_' or '-' (e.g. a hex hash)"
            )
        self.fingerprint = fingerprint
        self.folder = Path(root) / fingerprint
        check_writable(self.folder, "teacher score store")
        self._scores: dict[bytes, float] = {}
        self._loaded: set[str] = set()
        self._records = 0
        self._bytes = 0
        self._describe(info)
        self._remove_stale_temps()
        self.refresh()

    def __len__(self) -> int:
        return len(self._scores)

    def stats(self) -> dict[str, Any]:
        """Pairs held, and the shards behind them (records > pairs when writers overlapped)."""
        return {
            "fingerprint": self.fingerprint,
            "folder": str(self.folder),
            "pairs": len(self._scores),
            "shards": len(self._loaded),
            "records": self._records,
            "bytes": self._bytes,
        }

    def refresh(self) -> int:
        """Load shards written since the last load (by other processes); return how many."""
        new = [
            path for path in sorted(self.folder.glob(SHARD_GLOB)) if path.name not in self._loaded
        ]
        for path in new:
            keys, scores = read_shard(path)
            self._remember(path, keys, scores)
        return len(new)

    def get_many(self, queries: list[str], docs: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Scores of zip(queries, docs) as float32 (nan where missing), and the found mask."""
        return self._lookup(pair_digests(self.fingerprint, queries, docs))

    def missing(self, queries: list[str], docs: list[str]) -> list[int]:
        """Indices of the pairs not stored yet; a pair given twice is listed at its first index."""
        return self._missing(pair_digests(self.fingerprint, queries, docs))

    def put_many(
        self, queries: list[str], docs: list[str], scores: np.ndarray | list[float]
    ) -> int:
        """Store scores durably (one new shard, written before this returns); return how many
        pairs were new. Pairs already stored keep their score."""
        keys = pair_digests(self.fingerprint, queries, docs)
        return self._put(keys, _as_scores(scores, len(keys)))

    def score_pairs(
        self,
        teacher: Teacher,
        queries: list[str],
        docs: list[str],
        batch_size: int = 32,
        flush_every: int = 4096,
        progress: bool = True,
        rank: int = 0,
        world_size: int = 1,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> np.ndarray:
        """Scores of all pairs zip(queries, docs), in input order, asking the teacher only for
        distinct pairs not stored yet.

        Batches are sorted by text length, longest first (less padding, and an out-of-memory
        error shows at once). A new shard is flushed every `flush_every` scored pairs or every
        `flush_seconds`, whichever comes first, so a kill loses at most that much work. With `world_size` > 1, this process scores only the missing
        pairs it owns (`rank_of`); the result holds nan for pairs other ranks have not stored
        yet, so after all ranks finish, call `refresh()` and `get_many`.
        """
        if teacher.fingerprint != self.fingerprint:
            raise UserError(
                f"teacher fingerprint {teacher.fingerprint!r} does not match the score store's "
                f"{self.fingerprint!r} ({self.folder}): open the store with the teacher's fingerprint"
            )
        if batch_size < 1 or flush_every < 1:
            raise ValueError(
                f"batch_size and flush_every must be >= 1, got {batch_size} and {flush_every}"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank {rank} of {world_size}")
        _check_texts(queries, docs)
        keys = pair_digests(self.fingerprint, queries, docs)
        self.refresh()
        todo = [
            i
            for i in self._missing(keys)
            if world_size == 1 or rank_of(keys[i], world_size) == rank
        ]
        if todo:
            batches = scoring_batches(teacher, queries, docs, todo, batch_size, flush_every)
            self._score(teacher, queries, docs, keys, batches, flush_every, progress, flush_seconds)
        if world_size > 1:
            self.refresh()
        return self._lookup(keys)[0]

    def _score(
        self,
        teacher: Teacher,
        queries: list[str],
        docs: list[str],
        keys: list[bytes],
        batches: list[list[int]],
        flush_every: int,
        progress: bool,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        pending_keys: list[bytes] = []
        pending_scores: list[np.ndarray] = []
        bar = tqdm(
            total=sum(len(batch) for batch in batches),
            unit="pair",
            desc=f"teacher {self.fingerprint[:12]}",
            disable=not progress,
        )
        flushed = time.monotonic()
        try:
            for batch in batches:
                raw = teacher.score([queries[i] for i in batch], [docs[i] for i in batch])
                pending_scores.append(_as_scores(raw, len(batch), f"teacher {self.fingerprint!r}"))
                pending_keys.extend(keys[i] for i in batch)
                if len(pending_keys) >= flush_every or time.monotonic() - flushed >= flush_seconds:
                    self._put(pending_keys, np.concatenate(pending_scores))
                    pending_keys, pending_scores = [], []
                    flushed = time.monotonic()
                bar.update(len(batch))
        finally:
            # Also on an error or Ctrl-C: what was scored is kept.
            if pending_keys:
                self._put(pending_keys, np.concatenate(pending_scores))
            bar.close()

    def _lookup(self, keys: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        scores = np.array([self._scores.get(key, np.nan) for key in keys], dtype=np.float32)
        return scores, ~np.isnan(scores)

    def _missing(self, keys: list[bytes]) -> list[int]:
        seen: set[bytes] = set()
        indices = []
        for i, key in enumerate(keys):
            if key not in self._scores and key not in seen:
                seen.add(key)
                indices.append(i)
        return indices

    def _put(self, keys: list[bytes], scores: np.ndarray) -> int:
        new: dict[bytes, float] = {}
        for key, score in zip(keys, scores.tolist()):
            if key not in self._scores and key not in new:
                new[key] = score
        if not new:
            return 0
        name = f"shard-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.bin"
        path = write_shard(
            self.folder / name, list(new), np.fromiter(new.values(), np.float32, len(new))
        )
        self._loaded.add(path.name)
        self._records += len(new)
        self._bytes += path.stat().st_size
        self._scores.update(new)
        return len(new)

    def _remember(self, path: Path, keys: bytes, scores: np.ndarray) -> None:
        for i, score in enumerate(scores.tolist()):
            self._scores.setdefault(keys[i * KEY_BYTES : (i + 1) * KEY_BYTES], score)
        self._loaded.add(path.name)
        self._records += len(scores)
        self._bytes += path.stat().st_size

    def _describe(self, info: dict[str, Any] | None) -> None:
        path = self.folder / "teacher.json"
        if not path.exists():
            atomic_write_json(
                path,
                {
                    "fingerprint": self.fingerprint,
                    "teacher": info or {},
                    "provenance": provenance(),
                },
            )
            return
        try:
            recorded = json.loads(path.read_text(encoding="utf-8")).get("fingerprint")
        except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
            raise InputError(
                path, "not a teacher description: delete it and it is written again"
            ) from None
        if not isinstance(recorded, str):
            what = (
                "missing"
                if recorded is None
                else f"expected a string, got {type(recorded).__name__}"
            )
            raise InputError(
                path,
                f"{what}: not a teacher description; delete it and it is written again",
                None,
                "fingerprint",
            )
        if recorded != self.fingerprint:
            raise InputError(
                path,
                f"describes teacher {recorded!r}, but its folder is for {self.fingerprint!r}: this folder was moved or copied",
            )

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for temp in self.folder.glob(".*.tmp"):
            try:
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
            except FileNotFoundError:
                continue  # another process cleaned it up first


def scoring_batches(
    teacher: Teacher,
    queries: list[str],
    docs: list[str],
    todo: list[int],
    batch_size: int,
    flush_every: int,
) -> list[list[int]]:
    """The pairs `todo` (indices into queries/docs) in the batches the teacher is called with:
    longest texts first (less padding, and an out-of-memory error shows at once), `batch_size`
    pairs a call, or a batched teacher's `pairs_per_call` up to `flush_every`."""
    order = sorted(todo, key=lambda i: len(queries[i]) + len(docs[i]), reverse=True)
    per_call = teacher.pairs_per_call if isinstance(teacher, Batched) else batch_size
    step = max(batch_size, min(per_call, flush_every))
    return [order[start : start + step] for start in range(0, len(order), step)]


def write_shard(path: Path, keys: list[bytes], scores: np.ndarray) -> Path:
    """Write one shard atomically (temp file, fsync, rename)."""
    body = HEADER.pack(MAGIC, len(keys)) + b"".join(keys) + scores.astype("<f4").tobytes()
    return atomic_write(
        path, lambda handle: handle.write(body + hashlib.sha256(body).digest()), binary=True
    )


def read_shard(path: Path) -> tuple[bytes, np.ndarray]:
    """The keys (concatenated) and scores of one shard; an InputError if it is damaged."""
    data = path.read_bytes()
    if len(data) < HEADER.size + CHECKSUM_BYTES:
        _corrupt(path, f"truncated: {len(data)} bytes")
    magic, count = HEADER.unpack_from(data)
    if magic != MAGIC:
        _corrupt(path, "not a score shard")
    expected = HEADER.size + count * (KEY_BYTES + 4) + CHECKSUM_BYTES
    if len(data) != expected:
        _corrupt(path, f"{len(data)} bytes, expected {expected} for {count} records")
    body = data[:-CHECKSUM_BYTES]
    if hashlib.sha256(body).digest() != data[-CHECKSUM_BYTES:]:
        _corrupt(path, "checksum mismatch")
    keys_end = HEADER.size + count * KEY_BYTES
    scores = np.frombuffer(body, dtype="<f4", count=count, offset=keys_end).astype(np.float32)
    return body[HEADER.size : keys_end], scores


def _corrupt(path: Path, reason: str) -> None:
    raise InputError(
        path,
        f"damaged teacher score shard ({reason}). Delete this file and run again: its pairs will be rescored",
    )


def _as_scores(scores: Any, n: int, source: str = "scores") -> np.ndarray:
    array = np.asarray(scores, dtype=np.float32)
    if array.shape != (n,):
        raise UserError(
            f"{source}: expected {n} scores, one per pair, got an array of shape {array.shape}"
        )
    bad = int((~np.isfinite(array)).sum())
    if bad:
        raise UserError(
            f"{source}: {bad} of {n} scores are NaN or infinite (half-precision overflow?)"
        )
    return array


def _check_texts(queries: list[str], docs: list[str]) -> None:
    if len(queries) != len(docs):
        raise ValueError(f"{len(queries)} queries but {len(docs)} docs: pairs need one of each")
    for i, (query, doc) in enumerate(zip(queries, docs)):
        for kind, text in (("query", query), ("doc", doc)):
            if not isinstance(text, str) or not text.strip():
                raise UserError(
                    f"pair {i}: the {kind} text is empty ({text!r}); drop the pair or fix the text"
                )

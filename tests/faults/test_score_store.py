"""Teacher score store (rankdistill/store/score_store.py): a damaged shard or teacher.json is a
UserError naming it, with the fix (delete it: its pairs are scored again); a deleted one is
redone. Either way the scores read back equal a clean run's."""

from __future__ import annotations

import json
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rankdistill.store import ScoreStore
from tests.faults.inject import FAULTS, inject, user_error

FINGERPRINT = "fault-teacher"
QUERIES = [f"query {i % 4} about topic {i % 3}" for i in range(30)]
DOCS = [f"document {i} " + "word " * (i % 5) for i in range(30)]


class Teacher:
    """Deterministic scores; counts every pair it is asked for."""

    fingerprint = FINGERPRINT

    def __init__(self) -> None:
        self.asked: Counter[tuple[str, str]] = Counter()

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        self.asked.update(zip(queries, docs))
        return np.array([len(q) * 0.01 + len(d) * 0.1 for q, d in zip(queries, docs)], np.float32)


def score(root: Path, teacher: Teacher | None = None) -> np.ndarray:
    return ScoreStore(root, FINGERPRINT, {"name": "fault teacher"}).score_pairs(
        teacher or Teacher(), QUERIES, DOCS, batch_size=10, flush_every=10, progress=False
    )


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return Teacher().score(QUERIES, DOCS)


def retype_shard(data: bytes) -> bytes:
    """The header's record count one more than the records the shard holds."""
    magic, count = struct.unpack_from("<8sQ", data)
    return struct.pack("<8sQ", magic, count + 1) + data[16:]


def retype_description(data: bytes) -> bytes:
    """The fingerprint a number instead of a string."""
    return json.dumps({**json.loads(data), "fingerprint": 12345}).encode()


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_score_shard(tmp_path: Path, fault: str, clean: np.ndarray) -> None:
    np.testing.assert_array_equal(score(tmp_path), clean)
    shards = sorted((tmp_path / FINGERPRINT).glob("shard-*.bin"))
    assert len(shards) == 3
    shard = shards[1]
    inject(shard, fault, retype_shard)
    if fault != "deleted":
        reason = {  # a shard of 10 records is 16 + 10 * (16 + 4) + 32 = 248 bytes
            "truncated": "(124 bytes, expected 248 for 10 records)",
            "garbage": "(not a score shard)",
            "wrong type": "(248 bytes, expected 268 for 11 records)",
        }[fault]
        user_error(
            lambda: score(tmp_path),
            shard,
            f"{shard}: damaged teacher score shard {reason}.",
            "Delete this file and run again: its pairs will be rescored",
        )
        shard.unlink()  # the fix the message gives
    teacher = Teacher()
    np.testing.assert_array_equal(score(tmp_path, teacher), clean)
    assert sum(teacher.asked.values()) == 10  # only the pairs of that shard are scored again


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_teacher_description(tmp_path: Path, fault: str, clean: np.ndarray) -> None:
    score(tmp_path)
    described = tmp_path / FINGERPRINT / "teacher.json"
    inject(described, fault, retype_description)
    if fault != "deleted":
        expected = {
            "truncated": "not a teacher description: delete it and it is written again",
            "garbage": "not a teacher description: delete it and it is written again",
            "wrong type": "field 'fingerprint': expected a string, got int: not a teacher "
            "description; delete it and it is written again",
        }[fault]
        user_error(lambda: score(tmp_path), described, f"{described}: {expected}")
        described.unlink()  # the fix the message gives
    teacher = Teacher()
    np.testing.assert_array_equal(score(tmp_path, teacher), clean)
    assert not teacher.asked  # every score came from the shards
    assert json.loads(described.read_text())["fingerprint"] == FINGERPRINT  # written again

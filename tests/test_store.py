"""The teacher score store: reuse across runs, resume after kill -9, concurrent writers, damage."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rankdistill.core.errors import UserError
from rankdistill.store import ScoreStore, pair_key, text_hash

REPO = Path(__file__).resolve().parents[1]
FINGERPRINT = "fake-teacher-v1"

# Runs in a subprocess: score the pairs of make_pairs(n) into the store, print how many the teacher saw.
SCORER = """
import sys
from rankdistill.store import ScoreStore
from tests.test_store import FINGERPRINT, FakeTeacher, make_pairs
root, n, rank, world_size, sleep, batch_size, flush_every = sys.argv[1:]
queries, docs = make_pairs(int(n))
teacher = FakeTeacher(sleep=float(sleep))
ScoreStore(root, FINGERPRINT).score_pairs(
    teacher, queries, docs, batch_size=int(batch_size), flush_every=int(flush_every),
    progress=False, rank=int(rank), world_size=int(world_size),
)
print(len(teacher.asked))
"""


def expected_score(query: str, doc: str) -> float:
    return len(query) * 0.01 + sum(doc.encode()) % 97 / 100


class FakeTeacher:
    """Deterministic scores; records every pair and batch it is asked for."""

    def __init__(
        self, fingerprint: str = FINGERPRINT, sleep: float = 0.0, fail_on_batch: int | None = None
    ):
        self.fingerprint = fingerprint
        self.sleep = sleep
        self.fail_on_batch = fail_on_batch
        self.asked: list[tuple[str, str]] = []
        self.batches: list[list[tuple[str, str]]] = []

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        time.sleep(self.sleep)
        pairs = list(zip(queries, docs))
        self.asked.extend(pairs)
        self.batches.append(pairs)
        scores = np.array([expected_score(q, d) for q, d in pairs], dtype=np.float32)
        if len(self.batches) == self.fail_on_batch:
            scores[0] = np.nan
        return scores


def make_pairs(n: int) -> tuple[list[str], list[str]]:
    queries = [f"query {i % 7} about topic {i % 5}" for i in range(n)]
    docs = [f"document {i} " + "word " * (i % 13) for i in range(n)]
    return queries, docs


def expected(queries: list[str], docs: list[str]) -> np.ndarray:
    return np.array([expected_score(q, d) for q, d in zip(queries, docs)], dtype=np.float32)


def start_scorer(
    root: Path,
    n: int,
    rank: int = 0,
    world_size: int = 1,
    sleep: float = 0.0,
    batch_size: int = 5,
    flush_every: int = 10,
) -> subprocess.Popen:
    args = [
        str(root),
        str(n),
        str(rank),
        str(world_size),
        str(sleep),
        str(batch_size),
        str(flush_every),
    ]
    command = [sys.executable, "-c", SCORER, *args]
    return subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_until(
    condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"scorer exited early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the scorer")
        time.sleep(0.01)


def shards(root: Path, fingerprint: str = FINGERPRINT) -> list[Path]:
    return sorted((root / fingerprint).glob("shard-*.bin"))


def test_keys_are_stable_short_hex_and_depend_on_the_teacher() -> None:
    assert text_hash("héllo") == hashlib.sha256("héllo".encode()).hexdigest()
    key = pair_key("t1", "q", "d")
    assert key == pair_key("t1", "q", "d") and len(key) == 32 and int(key, 16) >= 0
    assert (
        len({key, pair_key("t2", "q", "d"), pair_key("t1", "d", "q"), pair_key("t1", "q", "d ")})
        == 4
    )


def test_round_trip_reopened_store_needs_no_teacher(tmp_path: Path) -> None:
    queries, docs = make_pairs(50)
    store = ScoreStore(tmp_path, FINGERPRINT, info={"model": "fake"})
    first = FakeTeacher()
    scores = store.score_pairs(first, queries, docs, batch_size=8, flush_every=16, progress=False)
    np.testing.assert_array_equal(scores, expected(queries, docs))
    assert len(first.asked) == 50 and len(store) == 50 and len(shards(tmp_path)) == 4

    reopened = ScoreStore(tmp_path, FINGERPRINT)
    second = FakeTeacher()
    np.testing.assert_array_equal(
        reopened.score_pairs(second, queries, docs, progress=False), scores
    )
    assert second.asked == []
    assert reopened.stats() == {**store.stats(), "pairs": 50, "shards": 4, "records": 50}
    found_scores, found = reopened.get_many(queries + ["new query"], docs + ["new doc"])
    assert found.tolist() == [True] * 50 + [False] and np.isnan(found_scores[-1])
    description = (tmp_path / FINGERPRINT / "teacher.json").read_text()
    assert '"model": "fake"' in description and '"provenance"' in description


def test_duplicate_pairs_are_scored_once_and_batches_are_longest_first(tmp_path: Path) -> None:
    queries, docs = make_pairs(20)
    queries, docs = queries + queries[:5] + queries[3:4], docs + docs[:5] + docs[3:4]
    store = ScoreStore(tmp_path, FINGERPRINT)
    assert store.missing(queries, docs) == list(range(20))
    teacher = FakeTeacher()
    scores = store.score_pairs(teacher, queries, docs, batch_size=4, progress=False)
    assert len(teacher.asked) == 20 == len(set(teacher.asked))
    np.testing.assert_array_equal(scores, expected(queries, docs))
    lengths = [len(q) + len(d) for q, d in teacher.asked]
    assert lengths == sorted(lengths, reverse=True)
    assert store.missing(queries + ["q", "q"], docs + ["d", "d"]) == [26]


def test_a_batched_teacher_gets_pairs_per_call_pairs_at_a_time(tmp_path: Path) -> None:
    from rankdistill.teachers.base import Batched

    class BatchedTeacher(FakeTeacher):
        pairs_per_call = 8  # the `Batched` protocol: whoever scores through a store honours it

    queries, docs = make_pairs(20)
    plain, batched = FakeTeacher(), BatchedTeacher()
    assert isinstance(batched, Batched) and not isinstance(plain, Batched)
    ScoreStore(tmp_path / "a", FINGERPRINT).score_pairs(
        plain, queries, docs, batch_size=4, progress=False
    )
    ScoreStore(tmp_path / "b", FINGERPRINT).score_pairs(
        batched, queries, docs, batch_size=4, progress=False
    )
    assert [len(b) for b in plain.batches] == [4] * 5 and [len(b) for b in batched.batches] == [
        8,
        8,
        4,
    ]


def test_a_changed_fingerprint_never_reuses_scores(tmp_path: Path) -> None:
    queries, docs = make_pairs(10)
    ScoreStore(tmp_path, FINGERPRINT).score_pairs(FakeTeacher(), queries, docs, progress=False)
    other = ScoreStore(tmp_path, "fake-teacher-v2")
    assert len(other) == 0 and other.missing(queries, docs) == list(range(10))
    teacher = FakeTeacher("fake-teacher-v2")
    other.score_pairs(teacher, queries, docs, progress=False)
    assert len(teacher.asked) == 10
    with pytest.raises(UserError, match="does not match"):
        other.score_pairs(FakeTeacher(), queries, docs, progress=False)
    with pytest.raises(UserError, match="cannot name a store folder"):
        ScoreStore(tmp_path, "../escape")


def test_resume_after_kill_9_rescores_only_what_was_lost(tmp_path: Path) -> None:
    n = 300
    queries, docs = make_pairs(n)
    proc = start_scorer(tmp_path, n, sleep=0.05, batch_size=5, flush_every=10)
    try:
        wait_until(lambda: len(shards(tmp_path)) >= 3, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = ScoreStore(tmp_path, FINGERPRINT)
    stored_before = len(store)
    _, was_stored = store.get_many(queries, docs)
    assert 0 < stored_before < n and stored_before % 10 == 0
    teacher = FakeTeacher()
    scores = store.score_pairs(
        teacher, queries, docs, batch_size=16, flush_every=64, progress=False
    )
    assert len(teacher.asked) == n - stored_before
    assert set(teacher.asked).isdisjoint(
        zip(np.array(queries)[was_stored], np.array(docs)[was_stored])
    )
    np.testing.assert_array_equal(scores, expected(queries, docs))

    reopened = ScoreStore(tmp_path, FINGERPRINT)
    assert len(reopened) == n and reopened.stats()["records"] == n
    np.testing.assert_array_equal(reopened.get_many(queries, docs)[0], expected(queries, docs))


def test_two_processes_score_disjoint_parts_into_one_store(tmp_path: Path) -> None:
    n = 200
    queries, docs = make_pairs(n)
    procs = [
        start_scorer(tmp_path, n, rank, 2, sleep=0.02, batch_size=10, flush_every=20)
        for rank in range(2)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    asked = [int(out.strip()) for out, _ in outputs]
    assert sum(asked) == n and min(asked) > 0

    store = ScoreStore(tmp_path, FINGERPRINT)
    assert len(store) == n and store.stats()["records"] == n
    np.testing.assert_array_equal(store.get_many(queries, docs)[0], expected(queries, docs))
    teacher = FakeTeacher()
    store.score_pairs(teacher, queries, docs, progress=False)
    assert teacher.asked == []


def test_a_damaged_shard_is_named_with_the_fix(tmp_path: Path) -> None:
    queries, docs = make_pairs(20)
    ScoreStore(tmp_path, FINGERPRINT).score_pairs(
        FakeTeacher(), queries, docs, batch_size=10, flush_every=10, progress=False
    )
    first, second = shards(tmp_path)
    good = first.read_bytes()

    first.write_bytes(good[:-7])
    with pytest.raises(
        UserError, match=rf"{first.name}: damaged .*\(\d+ bytes, expected .*Delete this file"
    ):
        ScoreStore(tmp_path, FINGERPRINT)
    first.write_bytes(good[:30] + bytes([good[30] ^ 1]) + good[31:])
    with pytest.raises(UserError, match=rf"{first.name}: damaged .*checksum mismatch"):
        ScoreStore(tmp_path, FINGERPRINT)
    first.write_bytes(b"garbage" * 20)
    with pytest.raises(UserError, match=rf"{first.name}: damaged .*not a score shard"):
        ScoreStore(tmp_path, FINGERPRINT)

    first.unlink()
    store = ScoreStore(tmp_path, FINGERPRINT)
    teacher = FakeTeacher()
    np.testing.assert_array_equal(
        store.score_pairs(teacher, queries, docs, progress=False), expected(queries, docs)
    )
    assert len(teacher.asked) == 10 and second.exists()


def test_temp_files_of_killed_writers_are_ignored_and_old_ones_removed(tmp_path: Path) -> None:
    folder = tmp_path / FINGERPRINT
    folder.mkdir()
    fresh, stale = folder / ".shard-1-2-ab.bin.x1.tmp", folder / ".shard-0-1-cd.bin.x2.tmp"
    fresh.write_bytes(b"RDSCORE1half")
    stale.write_bytes(b"RDSCORE1half")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    store = ScoreStore(tmp_path, FINGERPRINT)
    assert len(store) == 0 and fresh.exists() and not stale.exists()


def test_empty_text_is_a_user_error_naming_the_pair(tmp_path: Path) -> None:
    store = ScoreStore(tmp_path, FINGERPRINT)
    teacher = FakeTeacher()
    with pytest.raises(UserError, match="pair 2: the doc text is empty"):
        store.score_pairs(teacher, ["a", "b", "c"], ["x", "y", "  "], progress=False)
    with pytest.raises(UserError, match="pair 0: the query text is empty"):
        store.score_pairs(teacher, [""], ["x"], progress=False)
    assert teacher.asked == [] and len(store) == 0


def test_bad_teacher_output_is_refused_but_earlier_batches_are_kept(tmp_path: Path) -> None:
    queries, docs = make_pairs(12)
    store = ScoreStore(tmp_path, FINGERPRINT)
    with pytest.raises(UserError, match="1 of 4 scores are NaN"):
        store.score_pairs(
            FakeTeacher(fail_on_batch=2),
            queries,
            docs,
            batch_size=4,
            flush_every=100,
            progress=False,
        )
    assert len(store) == 4 and len(ScoreStore(tmp_path, FINGERPRINT)) == 4

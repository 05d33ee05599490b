"""Faults, with nothing lost: a full disk while writing score shards, index chunks or
checkpoints; a read-only store or run folder; two runs on one run folder. Each gives a clear
UserError (exit 2 in the CLI); what was committed before stays valid, and the rerun after the
fault is fixed completes without redoing committed work."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import rankdistill.core.atomic as atomic
from rankdistill.core.errors import UserError
from rankdistill.store.score_store import ScoreStore, read_shard


class FullDisk:
    """Patch the fsync inside atomic_write: the first `allowed` writes succeed, later ones fail
    with ENOSPC, as on a disk that fills up part way (the temp file is then half written)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, allowed: int) -> None:
        self.allowed, self.calls = allowed, 0
        self.real = os.fsync
        monkeypatch.setattr(atomic.os, "fsync", self)

    def __call__(self, fd: int) -> None:
        self.calls += 1
        if self.calls > self.allowed:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.real(fd)


class CountingTeacher:
    fingerprint = "counting-teacher"

    def __init__(self) -> None:
        self.scored: Counter[tuple[str, str]] = Counter()

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        self.scored.update(zip(queries, docs))
        return np.array([len(q) + 0.01 * len(d) for q, d in zip(queries, docs)], dtype=np.float32)


def test_disk_full_while_flushing_score_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = [f"query {i % 7}" for i in range(100)]
    docs = [f"document number {i}" for i in range(100)]
    teacher = CountingTeacher()
    store = ScoreStore(tmp_path, teacher.fingerprint)  # teacher.json written before the disk fills
    disk = FullDisk(monkeypatch, allowed=3)
    with pytest.raises(
        UserError, match="cannot write: no space left on device.*Files finished before are intact"
    ):
        store.score_pairs(teacher, queries, docs, batch_size=10, flush_every=10, progress=False)
    monkeypatch.setattr(atomic.os, "fsync", disk.real)  # space freed

    folder = tmp_path / teacher.fingerprint
    shards = sorted(folder.glob("shard-*.bin"))
    assert len(shards) == 3 and not list(folder.glob(".*.tmp"))  # the half-written one is gone
    committed = sum(len(read_shard(path)[1]) for path in shards)  # checksums verify
    assert committed == 30

    scores = ScoreStore(tmp_path, teacher.fingerprint).score_pairs(
        teacher, queries, docs, batch_size=10, flush_every=10, progress=False
    )
    assert np.isfinite(scores).all()
    # Only the 10 pairs of the flush that failed (scored, never committed) are scored again.
    assert len(teacher.scored) == 100 and sorted(Counter(teacher.scored.values()).items()) == [
        (1, 90),
        (2, 10),
    ]


def test_score_store_flushes_by_time_too(tmp_path: Path) -> None:
    teacher = CountingTeacher()
    store = ScoreStore(tmp_path, teacher.fingerprint)
    store.score_pairs(
        teacher,
        [f"q{i}" for i in range(40)],
        [f"d{i}" for i in range(40)],
        batch_size=10,
        flush_every=10_000,
        flush_seconds=0.0,
        progress=False,
    )
    assert len(list((tmp_path / teacher.fingerprint).glob("shard-*.bin"))) == 4  # one shard a batch


class FakeEncoder:
    sparse = False
    fingerprint = "fake-encoder"
    batch_size = 32

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode_documents(
        self, texts: list[str], progress: bool = False, on_batch=None, memoise: bool = True
    ) -> np.ndarray:
        self.encoded.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_disk_full_while_saving_index_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rankdistill.retrieval.encode import encode_chunks

    texts = [f"doc {i}" * (i % 5 + 1) for i in range(50)]
    folder = tmp_path / "chunks"
    encoder = FakeEncoder()
    disk = FullDisk(monkeypatch, allowed=3)  # state.json and two chunks
    with pytest.raises(UserError, match="no space left on device"):
        encode_chunks(encoder, texts, folder, 10, {"corpus_sha256": "x"}, progress=False)
    monkeypatch.setattr(atomic.os, "fsync", disk.real)
    finished = sorted(folder.glob("*.npy"))
    assert len(finished) == 2 and not list(folder.glob(".*.tmp"))
    assert [np.load(p).shape for p in finished] == [(10, 2), (10, 2)]

    again = FakeEncoder()
    chunks = encode_chunks(again, texts, folder, 10, {"corpus_sha256": "x"}, progress=False)
    assert again.encoded == texts[20:]  # the committed chunks were not encoded again
    np.testing.assert_array_equal(chunks.stack(), FakeEncoder().encode_documents(texts))


def test_torch_checkpoint_write_failure_is_a_clear_error(tmp_path: Path) -> None:
    """torch.save reports a full disk as a RuntimeError; the trainer's checkpoint left half
    written has no trainer_state.json, so resume never picks it."""
    from rankdistill.training.train import latest_checkpoint

    with pytest.raises(UserError, match="cannot write: write failed .*file write failed"):
        with atomic.storage_errors(tmp_path / "checkpoints"):
            raise RuntimeError(
                "[enforce fail at inline_container.cc:626] . PytorchStreamWriter failed writing file data/3: file write failed"
            )
    good, cut = tmp_path / "checkpoint-2", tmp_path / "checkpoint-4"
    good.mkdir(), cut.mkdir()
    (good / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    (cut / "model.safetensors").write_bytes(b"\0" * 10)
    assert latest_checkpoint(tmp_path) == good


def test_other_os_errors_are_not_disguised(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="bad descriptor"):
        with atomic.storage_errors(tmp_path):
            raise OSError(errno.EBADF, "bad descriptor")


def tiny_run_config(tmp_path: Path, beir: Path) -> Path:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"name: faulty\noutput_dir: {tmp_path / 'runs'}\nevaluate:\n  datasets: [{beir}]\n  retrievers: [bm25]\n  k: 5\n"
    )
    return config


def test_read_only_run_folder_fails_before_any_work(
    tiny_beir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.run import run_pipeline

    config = load_pipeline_config(tiny_run_config(tmp_path, tiny_beir))
    real = atomic.tempfile.mkstemp

    def read_only(
        *args, **kwargs
    ):  # a read-only mount (the tests may run as root, where chmod does not bind)
        if str(kwargs.get("dir", "")).startswith(str(tmp_path / "runs")):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    with pytest.raises(
        UserError, match=r"faulty: the run folder is not writable \(read-only file system\)"
    ):
        run_pipeline(config, "run.yaml")
    assert not (tmp_path / "runs" / "faulty" / "stages").exists()  # nothing started


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_store_folder_by_permissions(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(UserError, match="teacher score store is not writable"):
            ScoreStore(tmp_path / "store", "fp")
    finally:
        tmp_path.chmod(0o755)


def test_read_only_store_fails_when_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    with pytest.raises(UserError, match="store.fp: the teacher score store is not writable"):
        ScoreStore(tmp_path / "store", "fp")


HOLD = """
import sys, time
from rankdistill.core.runlock import run_lock
with run_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_second_run_on_the_same_folder_refuses_with_the_holder(
    tiny_beir: Path, tmp_path: Path
) -> None:
    config = tiny_run_config(tmp_path, tiny_beir)
    run_dir = tmp_path / "runs" / "faulty"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = subprocess.run(
            [sys.executable, "-m", "rankdistill.cli", "run", str(config)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert (
            f"another rankdistill run is working in this run folder (pid {holder.pid} on"
            in result.stderr
        )
        assert not (run_dir / "stages").exists()  # it never interleaved
    finally:
        holder.kill()
        holder.wait()
    # kill -9 left the lock file with its pid: stale, taken over at once
    assert str(holder.pid) in (run_dir / "run.lock").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "rankdistill.cli", "-v", "run", str(config)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "taking over a stale lock" in result.stderr
    assert (run_dir / "run.lock").read_text() == ""  # released cleanly


def test_lock_is_released_on_error(tmp_path: Path) -> None:
    from rankdistill.core.runlock import run_lock

    with pytest.raises(ZeroDivisionError):
        with run_lock(tmp_path):
            _ = 1 / 0
    started = time.monotonic()
    with run_lock(tmp_path):
        pass
    assert time.monotonic() - started < 1


def test_index_chunks_are_cut_by_time_as_well_as_by_count(tmp_path: Path) -> None:
    from rankdistill.retrieval.encode import encode_chunks

    class Slow(FakeEncoder):
        batch_size = 2

    texts = [f"doc {i}" for i in range(20)]
    chunks = encode_chunks(
        Slow(), texts, tmp_path, 1000, {"corpus_sha256": "x"}, progress=False, chunk_seconds=0.0
    )
    names = sorted(p.name for p in tmp_path.glob("*.npy"))
    assert (
        names[:2] == ["000000000-000000008.npy", "000000008-000000016.npy"] and len(names) == 3
    )  # one per 4 batches
    assert chunks.count() == 20

"""`engine: ray`: corpus encoding as a Ray Data pipeline on a local Ray (a head and its worker
processes) writes the same chunk files, byte for byte, as one process, and a worker killed mid-job
costs nothing but time. Skipped where Ray is not installed (`pip install rankdistill[ray]`)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from rankdistill.data.open import corpus_texts
from rankdistill.encoders.models import EncodingSettings
from rankdistill.retrieval.encode import encode_chunks, load_encoder

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "qrels").mkdir(parents=True)
    words = "protein cell gene brain heart vitamin tumour drug dose trial blood sleep".split()
    with (folder / "corpus.jsonl").open("w") as handle:
        for i in range(240):
            text = " ".join(words[(i * 7 + j) % len(words)] for j in range(5 + i % 23))
            handle.write(json.dumps({"_id": f"d{i}", "title": f"t{i % 5}", "text": text}) + "\n")
    (folder / "queries.jsonl").write_text('{"_id": "q", "text": "gene"}\n')
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\td1\t1\n")
    return folder


def chunk_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("[0-9]*.npy"))}


def encode(model: str, corpus: Path, folder: Path, engine: str) -> dict[str, bytes]:
    encoder = load_encoder(model, False, EncodingSettings(batch_size=8, precision="float32"))
    _, texts, _ = corpus_texts(str(corpus))
    chunks = encode_chunks(encoder, texts, folder, 40, {"test": 1}, False, engine=engine)
    assert chunks.count() == 240
    return chunk_bytes(folder)


def killer_of_first_worker(marks: Path) -> tuple[threading.Thread, list[int]]:
    """A started thread that SIGKILLs the first worker to mark its process id in `marks`, and the
    list it records the killed id in."""
    killed: list[int] = []

    def kill_first_worker() -> None:
        deadline = time.monotonic() + 900  # Ray is slow to start on a busy 2-core machine
        while time.monotonic() < deadline and not killed:
            for mark in marks.iterdir():
                os.kill(int(mark.name), signal.SIGKILL)
                killed.append(int(mark.name))
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    return killer, killed


def test_ray_writes_the_chunks_one_process_writes(tiny_dense_model, corpus, tmp_path, local_ray):
    local = encode(tiny_dense_model, corpus, tmp_path / "local", "local")
    on_ray = encode(tiny_dense_model, corpus, tmp_path / "ray", "ray")
    assert list(local) == [f"{s:09d}-{s + 40:09d}.npy" for s in range(0, 240, 40)]
    assert on_ray == local


def test_a_killed_worker_is_retried_with_nothing_lost_or_doubled(
    tiny_dense_model, corpus, tmp_path, local_ray, monkeypatch
):
    local = encode(tiny_dense_model, corpus, tmp_path / "local", "local")
    marks = tmp_path / "pids"
    marks.mkdir()
    monkeypatch.setenv("RAY_ENCODER_PIDS", str(marks))
    killer, killed = killer_of_first_worker(marks)
    on_ray = encode(tiny_dense_model, corpus, tmp_path / "ray", "ray")
    killer.join()
    assert killed, "no worker started"
    assert len(list(marks.iterdir())) > 1  # Ray started another actor after the kill
    assert on_ray == local  # every chunk once, and the same bytes
    assert not list((tmp_path / "ray").glob("*.tmp*"))


def score(corpus: Path, store: Path, engine: str, flush_pairs: int = 50):
    """Every (query, document) pair of 6 queries x the 240 documents, through the store."""
    from rankdistill.store.ray_scoring import score_on_ray
    from rankdistill.store.scoring import score_with_store
    from rankdistill.teachers import build_teacher

    _, texts, _ = corpus_texts(str(corpus))
    teacher = build_teacher("bm25", list(texts))
    queries = ["gene", "brain tumour", "vitamin dose", "sleep", "heart", "gene"]
    pairs = [(q, d) for q in queries for d in texts]
    qs, ds = [q for q, _ in pairs], [d for _, d in pairs]
    if engine == "ray":  # a test-sized task, so that several run and one can be killed
        score_on_ray(teacher, qs, ds, store, progress=False, flush_pairs=flush_pairs)
    return score_with_store(teacher, qs, ds, store, progress=False), teacher.fingerprint


def test_ray_scoring_stores_what_one_process_stores(corpus, tmp_path, local_ray):
    """Teacher scoring on Ray: the same score for every pair, and each distinct pair stored once
    (a query listed twice shares its pairs)."""
    from rankdistill.store import ScoreStore

    local, fingerprint = score(corpus, tmp_path / "local", "local")
    on_ray, _ = score(corpus, tmp_path / "ray", "ray")
    assert on_ray.tolist() == local.tolist() and len(local) == 6 * 240
    stats = ScoreStore(tmp_path / "ray", fingerprint).stats()
    assert stats["pairs"] == stats["records"] == 5 * 240 and stats["shards"] == 24


def test_a_killed_scoring_worker_is_retried_with_no_pair_stored_twice(
    corpus, tmp_path, local_ray, monkeypatch
):
    from rankdistill.store import ScoreStore

    local, fingerprint = score(corpus, tmp_path / "local", "local")
    marks = tmp_path / "scorer-pids"
    marks.mkdir()
    monkeypatch.setenv("RAY_SCORER_PIDS", str(marks))
    killer, killed = killer_of_first_worker(marks)
    on_ray, _ = score(corpus, tmp_path / "ray", "ray", flush_pairs=20)
    killer.join()
    assert killed, "no scoring worker started"
    assert len(list(marks.iterdir())) > 1  # Ray started another actor after the kill
    assert on_ray.tolist() == local.tolist()
    stats = ScoreStore(tmp_path / "ray", fingerprint).stats()
    assert stats["pairs"] == stats["records"] == 5 * 240  # nothing lost, nothing doubled


def test_ray_candidate_retrieval_finds_what_one_process_finds_with_a_worker_killed(
    tiny_dense_model, corpus, tmp_path, local_ray, monkeypatch
):
    """Mining's candidates from BM25 and a streamed dense corpus, searched on Ray in blocks of 2
    queries (several tasks), equal one process's, ranks and all, though the first search actor
    is SIGKILLed mid-job."""
    from rankdistill.data.beir import load_dataset
    from rankdistill.mining import mine_candidates
    from rankdistill.retrieval import dense

    words = ["gene", "brain tumour", "vitamin dose", "sleep", "heart trial", "drug", "protein"]
    with (corpus / "queries.jsonl").open("w") as handle:
        for i, text in enumerate(words):
            handle.write(json.dumps({"_id": f"q{i}", "text": text}) + "\n")
    rows = "".join(f"q{i}\td{i * 3}\t1\n" for i in range(len(words)))
    (corpus / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
    dataset = load_dataset(corpus, "test")
    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dense, "MEMO_CORPUS", 100)  # 240 documents: streamed, memory-mapped
    monkeypatch.setattr(dense, "QUERY_BLOCK", 2)
    retrievers = ["bm25", f"dense:{tiny_dense_model}"]
    settings = EncodingSettings(batch_size=8, precision="float32")
    local = mine_candidates(dataset, retrievers, 20, encoding=settings)
    marks = tmp_path / "search-pids"
    marks.mkdir()
    monkeypatch.setenv("RAY_SEARCH_PIDS", str(marks))
    killer, killed = killer_of_first_worker(marks)
    on_ray = mine_candidates(dataset, retrievers, 20, encoding=settings, engine="ray")
    killer.join()
    assert killed, "no search worker started"
    assert len(list(marks.iterdir())) > 1  # Ray started another actor after the kill
    assert list(on_ray) == list(local) and len(local) == len(words)
    for query_id, found in local.items():
        assert [(c.doc_id, c.ranks) for c in on_ray[query_id]] == [
            (c.doc_id, c.ranks) for c in found
        ]
        assert {spec for c in found for spec in c.ranks} == set(retrievers)


def test_ray_search_returns_the_scores_one_process_returns(
    tiny_dense_model, corpus, tmp_path, local_ray, monkeypatch
):
    """search_on_ray: the same hits and bit-equal scores for BM25 and a streamed dense corpus."""
    from rankdistill.data.open import corpus_texts
    from rankdistill.retrieval import build_retriever, dense
    from rankdistill.retrieval.ray_search import search_on_ray, searches_on_ray

    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dense, "MEMO_CORPUS", 100)
    monkeypatch.setattr(dense, "QUERY_BLOCK", 3)
    _, texts, _ = corpus_texts(str(corpus))
    documents = {f"d{i}": {"title": "", "text": t} for i, t in enumerate(texts)}
    queries = {f"q{i}": q for i, q in enumerate(["gene", "brain", "dose trial", "sleep blood"])}
    settings = EncodingSettings(batch_size=8, precision="float32")
    for spec in ["bm25", f"dense:{tiny_dense_model}"]:
        retriever = build_retriever(spec, settings)
        retriever.index(documents)
        assert searches_on_ray(retriever)
        assert search_on_ray(retriever, queries, 15, block=3, progress=False) == retriever.search(
            queries, 15
        )

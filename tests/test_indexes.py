"""Indexes on small real data: tiny real models, real faiss and Seismic, real metrics.

Round trips (build -> save -> load -> search) against exact search, the errors a user meets
(another model, a damaged file, another format version, an unfinished build), and resuming a
build after a real SIGKILL of the building process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from rankdistill.core.errors import UserError
from rankdistill.data.beir import join_title_text, load_corpus, load_queries
from rankdistill.encoders.models import EncodingSettings
from rankdistill.evaluation.index_bench import recall_at, run_bench, write_report
from rankdistill.indexes import BuildSettings, build_index, expand_spec, open_index, parse_spec
from rankdistill.indexes.build import write_index
from rankdistill.indexes.inverted import exact_sparse_search
from rankdistill.indexes.spec import check_factory
from rankdistill.indexes.structures import build_structure, load_structure
from rankdistill.indexes.synthetic import MixtureSpec, synthetic_chunks, synthetic_queries
from rankdistill.retrieval.encode import Chunks, encode_chunks, load_encoder
from tests.conftest import write_beir

SMALL_MIXTURE = MixtureSpec(dimension=32, groups=4, clusters=32, rank=4, seed=5)


@pytest.fixture(autouse=True)
def one_faiss_thread():
    """faiss's OpenMP threads spin-wait; on a shared 2-core machine two of them can make a tiny
    build 100x slower. These tests check results, not speed."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


@pytest.fixture(scope="module")
def vectors() -> tuple[np.ndarray, np.ndarray]:
    """2000 clustered 32-d base vectors and 50 queries from the same mixture."""
    return np.concatenate(
        list(synthetic_chunks(2000, SMALL_MIXTURE, chunk_size=700))
    ), synthetic_queries(50, SMALL_MIXTURE)


def exact(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ base.T), axis=1, kind="stable")[:, :k]


def build(spec: str, base: np.ndarray, tmp_path: Path):
    """Build from 3 chunks, save, load back: the structure as a reader of the folder sees it."""
    parsed = parse_spec(spec)
    structure, _ = build_structure(
        parsed,
        Chunks.from_array(base, chunk_size=700),
        base.shape[1],
        train_size=1000,
        folder=tmp_path,
    )
    structure.save(tmp_path)
    return load_structure(parsed, tmp_path)


# --- specs ---------------------------------------------------------------------------------


def test_spec_strings_parse_into_build_and_search_settings() -> None:
    spec = parse_spec("IVF256,PQ32:nprobe=16")
    assert (spec.build, spec.kind, spec.params) == ("IVF256,PQ32", "faiss", {"nprobe": 16})
    assert parse_spec("binary").search_params() == {"rescore": 10}
    assert parse_spec("seismic:heap_factor=0.8").search_params() == {
        "query_cut": 10,
        "heap_factor": 0.8,
        "rescore": 2,
    }
    assert parse_spec("inverted").search_params() == {} and parse_spec("inverted").is_sparse
    sweep = expand_spec("HNSW32:efSearch=16/64")
    assert [s.text for s in sweep] == ["HNSW32:efSearch=16", "HNSW32:efSearch=64"]
    assert {s.build for s in sweep} == {"HNSW32"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("HNSW32:efSearch=16/64", "sweep"),
        ("IVF16,Flat:nprobe", "expected key=value"),
        ("IVF16,Flat:nprobe=many", "must be a number"),
        ("IVF16,Flat:nprobe=2.5", "whole number"),
        ("binary:nprobe=4", "unknown parameter 'nprobe' for binary"),
        ("seismic:heap_factor=1.5", "heap_factor"),
        ("inverted:rescore=2", "unknown parameter .rescore. for inverted"),
        (":nprobe=4", "empty"),
    ],
)
def test_bad_specs_are_user_errors(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_spec(spec)


def test_factory_strings_faiss_rejects_fail_before_encoding() -> None:
    check_factory(parse_spec("IVF64,PQ8"), 32)
    with pytest.raises(UserError, match="index_factory cannot build it"):
        check_factory(parse_spec("IVF64,PQ7"), 32)
    with pytest.raises(UserError, match="Bogus"):
        check_factory(parse_spec("Bogus"), 32)


# --- structures against exact search ---------------------------------------------------------


def test_flat_round_trip_equals_exact(vectors, tmp_path: Path) -> None:
    base, queries = vectors
    scores, indices = build("Flat", base, tmp_path).search(queries, 10)
    np.testing.assert_array_equal(indices, exact(base, queries, 10))
    np.testing.assert_allclose(
        scores, np.take_along_axis(queries @ base.T, indices, axis=1), rtol=1e-5
    )


def test_ivf_recall_grows_with_nprobe_and_is_exact_when_probing_every_list(
    vectors, tmp_path: Path
) -> None:
    base, queries = vectors
    truth = exact(base, queries, 10)
    structure = build("IVF32,Flat:nprobe=1", base, tmp_path)
    one = recall_at(structure.search(queries, 10)[1], truth, 10)
    structure.set_params({"nprobe": 32})
    assert recall_at(structure.search(queries, 10)[1], truth, 10) == 1.0
    assert one < 1.0  # the mixture spreads neighbours over several lists
    assert structure.effective_params() == {"nprobe": 32}


def test_more_inverted_lists_than_documents_are_lowered_with_a_warning(
    vectors, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import faiss

    base, queries = vectors
    structure = build("IVF4096,Flat:nprobe=8", base, tmp_path)  # 2,000 documents
    assert "4096 inverted lists for 2000 documents; building IVF51 instead" in caplog.text
    assert faiss.extract_index_ivf(structure.index).nlist == 51
    assert recall_at(structure.search(queries, 10)[1], exact(base, queries, 10), 10) > 0.5


def test_hnsw_and_pq_load_back_with_their_search_settings(vectors, tmp_path: Path) -> None:
    import faiss

    base, queries = vectors
    hnsw = build("HNSW16:efConstruction=80,efSearch=64", base, tmp_path / "hnsw")
    assert (
        hnsw.effective_params()["efSearch"] == 64
        and faiss.downcast_index(hnsw.index).hnsw.efConstruction == 80
    )
    assert (
        hnsw.spec.text == "HNSW16:efConstruction=80,efSearch=64"
        and hnsw.spec.build_key == "HNSW16:efConstruction=80"
    )
    with pytest.raises(UserError, match="fixed when the index is built"):
        hnsw.spec.with_params({"efConstruction": 40})
    with pytest.raises(UserError, match="efConstruction applies to HNSW"):
        build("IVF16,Flat:efConstruction=80", base, tmp_path / "ivf")
    assert recall_at(hnsw.search(queries, 10)[1], exact(base, queries, 10), 10) > 0.9
    pq = build("IVF16,PQ8np:nprobe=16", base, tmp_path / "pq")  # np: no (slow) polysemous training
    assert pq.sizes()["index"] / pq.count < base.shape[1] * 4 / 2  # compressed well below float32
    assert (pq.sizes()["code"], hnsw.sizes()["code"]) == (8, base.shape[1] * 4)
    refined = build("IVF16,PQ8x4fs,RFlat:nprobe=16,k_factor_rf=4", base, tmp_path / "refine")
    assert (
        refined.sizes()["code"] == 8 * 4 // 8 + base.shape[1] * 4
    )  # 4-bit PQ codes + float refine vectors


def test_binary_rescoring_the_whole_corpus_is_exact_and_codes_are_d_over_8_bytes(
    vectors, tmp_path: Path
) -> None:
    base, queries = vectors
    structure = build("binary:rescore=200", base, tmp_path)  # shortlist 200 * 10 = every vector
    scores, indices = structure.search(queries, 10)
    np.testing.assert_array_equal(indices, exact(base, queries, 10))
    np.testing.assert_allclose(
        scores, np.take_along_axis(queries @ base.T, indices, axis=1), rtol=1e-5
    )
    assert structure.codes.code_size == base.shape[1] // 8
    structure.set_params({"rescore": 1})  # Hamming order only: cheaper, and worse
    assert recall_at(structure.search(queries, 10)[1], indices, 10) < 1.0


def random_sparse(rows: int, vocabulary: int, per_row: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    cols = np.concatenate(
        [rng.choice(vocabulary, per_row, replace=False, p=None) for _ in range(rows)]
    )
    values = rng.gamma(1.0, 1.0, rows * per_row).astype(np.float32)
    return sp.csr_matrix(
        (values, (np.repeat(np.arange(rows), per_row), cols)), shape=(rows, vocabulary)
    )


def test_inverted_index_equals_exact_sparse_search(tmp_path: Path) -> None:
    docs = random_sparse(600, 500, 25, seed=1)
    queries = random_sparse(40, 500, 8, seed=2)
    spec = parse_spec("inverted")
    structure, _ = build_structure(spec, Chunks.from_array(docs, chunk_size=250), docs.shape[1])
    structure.save(tmp_path)
    loaded = load_structure(spec, tmp_path)
    want_scores, want = exact_sparse_search(queries, docs.T.tocsc(), 10)
    for batch in (queries, queries[:1]):
        scores, indices = loaded.search(batch, 10)
        np.testing.assert_array_equal(indices, want[: batch.shape[0]])
        np.testing.assert_array_equal(scores, want_scores[: batch.shape[0]])


def test_seismic_shortlists_are_rescored_exactly_and_query_cut_trades_recall(
    tmp_path: Path,
) -> None:
    docs = random_sparse(600, 500, 25, seed=1)
    queries = random_sparse(40, 500, 8, seed=2)
    spec = parse_spec("seismic:query_cut=0,heap_factor=1,rescore=5")
    structure, _ = build_structure(spec, Chunks.from_array(docs, chunk_size=250), docs.shape[1])
    structure.save(tmp_path)
    loaded = load_structure(spec, tmp_path)
    _, want = exact_sparse_search(queries, docs.T.tocsc(), 10)
    for batch in (queries, queries[:1]):  # Seismic's batch search and its single-query search
        scores, indices = loaded.search(batch, 10)
        assert recall_at(indices, want[: batch.shape[0]], 10) >= 0.95
        exact_scores = np.take_along_axis((batch @ docs.T).toarray(), indices, axis=1)
        np.testing.assert_allclose(
            scores, exact_scores, rtol=1e-6
        )  # float32, not Seismic's float16
    loaded.set_params({"query_cut": 1, "rescore": 1})
    assert recall_at(loaded.search(queries, 10)[1], want, 10) < 0.9


# --- whole indexes: build, load, search, evaluate ------------------------------------------


def test_built_flat_index_searches_like_exact_dense_retrieval(
    flat_index, tiny_dense_model: str
) -> None:
    from rankdistill.data.beir import join_title_text, load_corpus

    beir, folder = flat_index
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (
        manifest["count"] == 10
        and manifest["dimension"] == 128
        and manifest["model"]["normalized"] is True
    )
    assert not (folder / "chunks").exists()  # removed once the index is complete
    corpus = load_corpus(beir / "corpus.jsonl")
    queries = load_queries(beir / "queries.jsonl")
    encoder = load_encoder(tiny_dense_model, sparse=False)
    docs = encoder.encode_documents([join_title_text(corpus[d]) for d in manifest["doc_ids"]])
    query_vectors = encoder.encode_queries(list(queries.values()))
    results = open_index(folder).search(queries, 4)
    for query_id, row in zip(queries, exact(docs, query_vectors, 4)):
        assert list(results[query_id]) == [manifest["doc_ids"][i] for i in row]


def table_rows(dataset_folder: Path, index: Path, retriever: str) -> list[list[str]]:
    """The metric cells of the results table for `index` and the exact `retriever` on the folder."""
    import rankdistill as rd
    from rankdistill.evaluation import format_table

    dataset = rd.open_dataset(str(dataset_folder))
    table = format_table(
        [rd.evaluate(dataset, retriever), rd.evaluate(dataset, rd.open_index(index))]
    )
    return [line.split(" | ")[3:7] for line in table.splitlines() if line.startswith("| tiny")]


def test_evaluate_through_an_index_matches_the_dense_retriever(
    flat_index, tiny_dense_model: str
) -> None:
    beir, folder = flat_index
    rows = table_rows(beir, folder, f"dense:{tiny_dense_model}")
    assert (
        len(rows) == 2 and rows[0] == rows[1]
    )  # same metrics through the index as exact retrieval


def test_loading_with_another_model_is_refused(flat_index) -> None:
    _, folder = flat_index
    with pytest.raises(UserError, match="built with model .* not comparable"):
        open_index(folder, model="all-MiniLM-L6-v2")


def test_corrupted_index_file_is_refused(flat_index, tmp_path: Path) -> None:
    import shutil

    _, original = flat_index
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    data = bytearray((folder / "index.faiss").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupted index file: its sha256 differs"):
        open_index(folder)
    (folder / "index.faiss").write_bytes(bytes(data[:100]))
    with pytest.raises(UserError, match="corrupted index file: 100 bytes"):
        open_index(folder)
    with pytest.raises(UserError, match="corrupted index file, faiss cannot read it"):
        open_index(folder, verify=False)


def test_manifest_of_another_version_or_missing_is_refused(flat_index, tmp_path: Path) -> None:
    import shutil

    _, original = flat_index
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(UserError, match="format version 99 .* reads version 1 only"):
        open_index(folder)
    (folder / "manifest.json").unlink()
    (folder / "chunks").mkdir()
    with pytest.raises(UserError, match="not a complete index.*resume"):
        open_index(folder)


def test_inverted_index_on_splade_matches_exact_sparse_retrieval(
    splade_tiny: str, tiny_beir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "inverted"
    build_index(splade_tiny, str(tiny_beir), "inverted", folder, progress=False)
    rows = table_rows(tiny_beir, folder, f"sparse:{splade_tiny}")
    assert len(rows) == 2 and rows[0] == rows[1]


# --- resume after a real kill -----------------------------------------------------------------


def test_killed_build_resumes_from_its_finished_chunks(
    tiny_dense_model: str, tmp_path: Path
) -> None:
    words = "cell gene protein virus water light energy brain heart ocean star metal".split()
    rng = np.random.default_rng(3)
    corpus = {f"d{i}": (f"title {i}", " ".join(rng.choice(words, 12))) for i in range(1200)}
    beir = write_beir(
        tmp_path / "many", corpus=corpus, queries={"q1": "gene protein"}, qrels={"q1": {"d1": 1}}
    )
    folder = tmp_path / "index"
    args = [
        "index",
        "build",
        "--model",
        tiny_dense_model,
        "--dataset",
        str(beir),
        "--spec",
        "Flat",
        "--output",
        str(folder),
        "--chunk-size",
        "40",
        "--keep-chunks",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "rankdistill.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    chunks = folder / "chunks"
    deadline = time.monotonic() + 120
    while (
        len(list(chunks.glob("*.npy"))) < 2
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    finished = {p.name: p.stat().st_mtime_ns for p in chunks.glob("*.npy")}
    assert 2 <= len(finished) < 30 and not (folder / "manifest.json").exists()

    manifest = write_index(
        tiny_dense_model,
        str(beir),
        "Flat",
        folder,
        settings=BuildSettings(chunk_size=40, keep_chunks=True),
        progress=False,
    )
    assert manifest["build_seconds"]["reused_chunks"] == len(
        finished
    )  # `index build` prints it as "resumed: reused N"
    after = {p.name: p.stat().st_mtime_ns for p in chunks.glob("*.npy")}
    assert len(after) == 30 and all(after[name] == mtime for name, mtime in finished.items())
    # the resumed index holds every document, each vector where a fresh encoding puts it
    index = open_index(folder)
    encoder = load_encoder(tiny_dense_model, sparse=False)
    probe = [index.doc_ids.index(d) for d in ("d0", "d555", "d1199")]
    fresh = encoder.encode_documents([f"title {i} {corpus[f'd{i}'][1]}" for i in (0, 555, 1199)])
    scores, found = index.search_vectors(fresh, 1)
    assert found[:, 0].tolist() == probe and np.allclose(scores[:, 0], 1.0, atol=1e-4)


def test_unfinished_encoding_with_other_settings_is_refused(
    tiny_dense_model: str, tmp_path: Path
) -> None:
    encoder = load_encoder(tiny_dense_model, sparse=False)
    texts = [f"text number {i}" for i in range(7)]
    encode_chunks(encoder, texts, tmp_path, 3, {"corpus_sha256": "a"}, progress=False)
    with pytest.raises(UserError, match="other settings .*corpus_sha256"):
        encode_chunks(encoder, texts, tmp_path, 3, {"corpus_sha256": "b"}, progress=False)
    assert (
        len(encode_chunks(encoder, texts, tmp_path, 4, {"corpus_sha256": "a"}, progress=False)) == 3
    )  # chunk size is free


# --- bench ------------------------------------------------------------------------------------


def test_bench_measures_every_setting_against_exact_and_writes_its_report(
    vectors, tmp_path: Path
) -> None:
    base, queries = vectors
    specs = [
        s
        for text in ("Flat", "IVF32,Flat:nprobe=1/32", "binary:rescore=2")
        for s in expand_spec(text)
    ]
    rows = run_bench(
        Chunks.from_array(base),
        queries,
        specs,
        base.shape[1],
        k=10,
        train_size=1000,
        rounds=2,
        single=5,
        report=lambda _: None,
    )
    assert [r.spec for r in rows] == [
        "Flat (exact)",
        "Flat",
        "IVF32,Flat:nprobe=1",
        "IVF32,Flat:nprobe=32",
        "binary:rescore=2",
    ]
    recall = {r.spec: r.recall for r in rows}
    assert (
        recall["Flat"] == recall["IVF32,Flat:nprobe=32"] == 1.0
        and recall["IVF32,Flat:nprobe=1"] < 1.0
    )
    assert (
        rows[1].index_bytes_per_vector >= 32 * 4
        and rows[-1].index_bytes_per_vector < 32 * 4 / 8 + 8
    )
    assert [r.code_bytes_per_vector for r in rows[1:]] == [32 * 4, 32 * 4, 32 * 4, 32 // 8]
    assert rows[-1].rescore_bytes_per_vector == 32 * 4
    assert all(r.qps_batch > 0 and r.qps_single > 0 for r in rows)
    table = write_report(rows, tmp_path, "small mixture", {"k": 10}, "rankdistill index bench ...")
    assert table.count("\n") == len(rows) + 1
    assert (tmp_path / "recall_qps.png").stat().st_size > 1000
    assert json.loads((tmp_path / "bench.json").read_text())["rows"][2]["params"] == "nprobe=1"


def test_bf16_index_records_its_precision_and_queries_use_it(
    tiny_dense_model: str, tmp_path: Path
) -> None:
    beir = write_beir(tmp_path / "tiny")
    folder = tmp_path / "bf16"
    build_index(
        tiny_dense_model,
        str(beir),
        "Flat",
        folder,
        settings=BuildSettings(EncodingSettings(precision="bf16", backend="auto")),
        progress=False,
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"]["bf16"] is True and manifest["model"]["precision"] == "bf16"
    index = open_index(folder)
    assert (
        index.encoder.precision == "bf16"
        and index.encoder.fingerprint == manifest["model"]["fingerprint"]
    )
    assert (
        index.encoder.fingerprint
        != load_encoder(
            tiny_dense_model, sparse=False, settings=EncodingSettings(precision="float32")
        ).fingerprint
    )
    queries = load_queries(beir / "queries.jsonl")
    assert all(len(hits) == 3 for hits in index.search(queries, 3).values())


def test_an_index_scores_candidates_from_its_stored_vectors(
    tiny_dense_model: str, tmp_path: Path, monkeypatch
) -> None:
    """Teacher-student agreement reads the student's document vectors from its index instead of
    encoding the reranked documents again."""
    beir = write_beir(tmp_path / "tiny")
    build_index(tiny_dense_model, str(beir), "Flat", tmp_path / "flat", progress=False)
    index = open_index(tmp_path / "flat", model=tiny_dense_model)
    corpus, queries = load_corpus(beir / "corpus.jsonl"), load_queries(beir / "queries.jsonl")
    candidates = {"q1": ["d3", "d1", "d7"], "q2": ["d7"]}
    docs = index.encoder.encode_documents([join_title_text(corpus[d]) for d in ["d3", "d1", "d7"]])
    expected = docs @ index.encoder.encode_queries([queries["q1"]])[0]

    def no_encoding(*args, **kwargs):
        raise AssertionError("documents encoded again")

    monkeypatch.setattr(index.encoder, "encode_documents", no_encoding)
    scores = index.score_candidates(queries, candidates, lambda d: join_title_text(corpus[d]))
    np.testing.assert_allclose(scores["q1"], expected, atol=1e-5)
    assert scores["q2"].shape == (1,)


def test_chunks_mapped_is_the_stack_memory_mapped_and_rewritten_after_new_chunks(tmp_path):
    rng = np.random.default_rng(5)
    paths = []
    for start in range(0, 300, 100):
        path = tmp_path / f"{start:09d}-{start + 100:09d}.npy"
        np.save(path, rng.standard_normal((100, 8)).astype(np.float32))
        paths.append(path)
    chunks = Chunks(paths, sparse=False)
    mapped = chunks.mapped(tmp_path)
    assert isinstance(mapped, np.memmap) and np.array_equal(mapped, chunks.stack())
    (first,) = tmp_path.glob("vectors-*.npy")
    assert np.array_equal(chunks.mapped(tmp_path), mapped)  # reused, not written again
    assert list(tmp_path.glob("vectors-*.npy")) == [first]
    replacement = tmp_path / "new.npy"  # a chunk encoded again: saved by an atomic rename
    np.save(replacement, np.ones((100, 8), dtype=np.float32))
    replacement.replace(paths[1])
    again = chunks.mapped(tmp_path)
    assert np.array_equal(again[100:200], np.ones((100, 8))) and np.array_equal(
        again, chunks.stack()
    )
    assert [p.name for p in tmp_path.glob("vectors-*.npy")] != [first.name]  # the stale one gone
    assert len(list(tmp_path.glob("vectors-*.npy"))) == 1


def test_index_vectors_map_the_shared_encoding_and_fall_back_to_the_index(
    tiny_dense_model, tmp_path
):
    import shutil

    from rankdistill.indexes.load import index_vectors

    beir = write_beir(tmp_path / "tiny")
    shared = tmp_path / "encodings"
    settings = BuildSettings(chunk_size=3, chunks_dir=str(shared))
    build_index(
        tiny_dense_model, str(beir), "Flat", tmp_path / "idx", settings=settings, progress=False
    )
    ids, mapped, _ = index_vectors(tmp_path / "idx")
    assert isinstance(mapped, np.memmap)  # the shared encoding's vectors.npy, not a copy
    structure = open_index(tmp_path / "idx").structure
    stored = structure.stored_vectors(np.arange(structure.count, dtype=np.int64))
    assert np.array_equal(mapped, stored) and len(ids) == structure.count
    shutil.rmtree(shared)  # the encoding is gone: the vectors come out of the index
    again_ids, copied, _ = index_vectors(tmp_path / "idx")
    assert not isinstance(copied, np.memmap) and np.array_equal(copied, stored)
    assert again_ids == ids


def test_build_index_takes_an_open_dataset_and_returns_the_index_ready_to_search(
    tiny_dense_model: str, tmp_path: Path
) -> None:
    """The public `build_index` takes a loaded dataset and hands back the index, which searches by
    query text with the model it was built with: the same hits as the folder opened again."""
    from rankdistill.data import open_dataset
    from rankdistill.indexes.load import SearchIndex

    dataset = open_dataset(str(write_beir(tmp_path / "tiny")))
    index = build_index(
        tiny_dense_model,
        dataset,
        "Flat",
        tmp_path / "flat",
        settings=BuildSettings(EncodingSettings(batch_size=2, precision="float32")),
        progress=False,
    )
    assert isinstance(index, SearchIndex)
    assert index.manifest["dataset"]["name"] == dataset.name == "tiny"
    assert index.manifest["dataset"]["path"] == str(dataset.path)
    assert index.encoder.batch_size == 2  # the build's encoding serves the queries too
    reopened = open_index(
        tmp_path / "flat", model=tiny_dense_model, encoding=EncodingSettings(batch_size=5)
    )
    assert reopened.encoder.batch_size == 5
    assert reopened.encoder.precision == "float32"  # the built precision, from the manifest
    hits, again = index.search(dataset.queries, 3), reopened.search(dataset.queries, 3)
    assert {q: list(h) for q, h in hits.items()} == {q: list(h) for q, h in again.items()}
    assert all(len(h) == 3 for h in hits.values())

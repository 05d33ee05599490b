"""Retrievers on a tiny corpus with tiny real models: each equals brute-force scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankdistill.core.errors import UserError
from rankdistill.data import load_dataset
from rankdistill.encoders.models import EncodingSettings
from rankdistill.retrieval import build_retriever, top_k
from rankdistill.retrieval.base import to_results


@pytest.fixture
def dataset(tiny_beir: Path):
    return load_dataset(tiny_beir, "test")


def test_top_k_orders_scores_and_breaks_ties_by_index() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, 1.0, 2.0, 0.0]])
    indices, best = top_k(scores, 3)
    assert indices.tolist() == [[1, 3, 2], [0, 2, 1]]
    assert best.tolist() == [[0.9, 0.9, 0.5], [3.0, 2.0, 1.0]]
    assert top_k(scores, 10)[0].shape == (2, 4)


def test_to_results_skips_padding() -> None:
    results = to_results(["q"], ["a", "b"], np.array([[1, -1]]), np.array([[0.5, 0.0]]))
    assert results == {"q": {"b": 0.5}}


def test_bm25_ranks_the_matching_document_first(dataset) -> None:
    retriever = build_retriever("bm25")
    retriever.index(dataset.corpus)
    results = retriever.search(dataset.queries, k=3)
    assert next(iter(results["q2"])) == "d7"  # tides
    assert next(iter(results["q4"])) == "d5"  # coffee
    assert all(len(hits) <= 3 for hits in results.values())


def test_bm25_options_parse_and_bad_ones_fail() -> None:
    retriever = build_retriever("bm25:k1=0.9,b=0.4")
    assert (retriever.k1, retriever.b) == (0.9, 0.4)
    with pytest.raises(UserError, match="unknown BM25 option 'k3'"):
        build_retriever("bm25:k3=1")


@pytest.mark.parametrize("spec", ["colbert:x", "dense", "dense:", "nonsense"])
def test_bad_retriever_specs(spec: str) -> None:
    with pytest.raises(UserError):
        build_retriever(spec)


def test_dense_search_equals_brute_force_cosine(dataset, tiny_dense_model: str) -> None:
    from sentence_transformers import SentenceTransformer

    retriever = build_retriever(f"dense:{tiny_dense_model}", EncodingSettings(device="cpu"))
    retriever.index(dataset.corpus)
    results = retriever.search(dataset.queries, k=4)

    plain = SentenceTransformer(tiny_dense_model, device="cpu")
    docs = plain.encode([dataset.doc_text(d) for d in dataset.corpus], normalize_embeddings=True)
    queries = plain.encode(list(dataset.queries.values()), normalize_embeddings=True)
    scores = queries @ docs.T
    doc_ids = list(dataset.corpus)
    for row, query_id in enumerate(dataset.queries):
        expected = [doc_ids[i] for i in np.argsort(-scores[row])[:4]]
        assert list(results[query_id]) == expected
        assert results[query_id][expected[0]] == pytest.approx(float(scores[row].max()), abs=1e-5)


def test_sparse_search_equals_brute_force_dot(dataset, splade_tiny: str) -> None:
    from sentence_transformers import SparseEncoder

    retriever = build_retriever(f"sparse:{splade_tiny}", EncodingSettings(device="cpu"))
    retriever.index(dataset.corpus)
    results = retriever.search(dataset.queries, k=3)

    plain = SparseEncoder(splade_tiny, device="cpu")
    docs = (
        plain.encode_document([dataset.doc_text(d) for d in dataset.corpus], convert_to_tensor=True)
        .to_dense()
        .numpy()
    )
    queries = (
        plain.encode_query(list(dataset.queries.values()), convert_to_tensor=True)
        .to_dense()
        .numpy()
    )
    scores = queries @ docs.T
    doc_ids = list(dataset.corpus)
    for row, query_id in enumerate(dataset.queries):
        expected = [
            doc_ids[i] for i in np.argsort(-scores[row], kind="stable")[:3] if scores[row, i] > 0
        ]
        assert list(results[query_id]) == expected
    assert next(iter(results["q2"])) == "d7"  # SPLADE-tiny is a real retriever: tides


def test_dense_embeddings_are_computed_once_per_process(tiny_dense_model: str, monkeypatch) -> None:
    from rankdistill.retrieval.dense import encode_documents, encode_texts, load_dense_model

    model = load_dense_model(tiny_dense_model)
    assert (
        load_dense_model(tiny_dense_model).model is model.model
    )  # one instance per (model, device, length)
    texts = ["a unique memo test text", "another memo test text"]
    first = encode_documents(model, texts, progress=False)
    calls = []
    original = model.model.encode_document
    monkeypatch.setattr(
        model.model,
        "encode_document",
        lambda new, **kw: calls.append(list(new)) or original(new, **kw),
    )
    again = encode_documents(model, [texts[1], "a third memo test text", texts[0]], progress=False)
    assert calls == [["a third memo test text"]]  # only the new text was encoded
    np.testing.assert_allclose(again[[2, 0]], first, atol=1e-6)
    as_query = encode_texts(model, texts[:1], "query", normalize=True)
    assert calls[-1] == [
        "a third memo test text"
    ]  # a query is another role: not read from the document memo
    assert as_query.shape == (1, first.shape[1])


def test_bf16_encoding_is_close_to_float32_and_memoised_apart(tiny_dense_model: str) -> None:
    from rankdistill.retrieval.dense import encode_documents, load_dense_model

    fp32 = load_dense_model(tiny_dense_model, EncodingSettings(precision="float32"))
    bf16 = load_dense_model(tiny_dense_model, EncodingSettings(precision="bf16"))
    assert fp32.model is not bf16.model
    texts = ["a bf16 memo test text about protein folding", "another one about cell membranes"]
    a, b = (
        encode_documents(fp32, texts, progress=False),
        encode_documents(bf16, texts, progress=False),
    )
    assert a.dtype == b.dtype == np.float32
    assert not np.array_equal(a, b)  # really computed in bf16, not read from the float32 memo
    assert np.all(np.sum(a * b, axis=1) > 0.99)  # both unit vectors: cosine


def test_dense_corpus_vectors_are_cached_on_disk_and_a_damaged_file_is_redone(
    tiny_dense_model: str, tmp_path, monkeypatch
) -> None:
    import numpy as np

    from rankdistill.retrieval import dense

    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))
    corpus = {
        f"d{i}": {"title": "", "text": f"document number {i} about topic {i % 3}"}
        for i in range(12)
    }
    calls = []
    real = dense.encode_documents
    monkeypatch.setattr(dense, "encode_documents", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = dense.DenseRetriever(tiny_dense_model)
    first.index(corpus)
    hits = first.search({"q": "topic 1"}, 5)
    again = dense.DenseRetriever(tiny_dense_model)
    again.index(corpus)
    assert len(calls) == 1 and again.search({"q": "topic 1"}, 5) == hits  # read back, not encoded
    (cached,) = (tmp_path / "cache" / "vectors").glob("*.npy")
    cached.write_bytes(cached.read_bytes()[:100])  # cut short
    dense.DenseRetriever(tiny_dense_model).index(corpus)
    assert len(calls) == 2 and np.load(cached).shape[0] == 12
    corpus["d0"]["text"] = "another text"  # another corpus: another key
    dense.DenseRetriever(tiny_dense_model).index(corpus)
    assert len(calls) == 3


def test_a_large_corpus_is_streamed_from_mapped_chunks_with_the_same_hits(
    tiny_dense_model: str, tmp_path, monkeypatch
) -> None:
    """Above MEMO_CORPUS documents the dense retriever encodes into memory-mapped chunks under the
    cache and searches block by block (here blocks of 3 queries and 5 documents): the same hits and
    scores as the in-memory search, and a second retriever reads the chunks instead of encoding."""
    from rankdistill.retrieval import dense

    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))
    corpus = {
        f"d{i}": {"title": f"t{i % 4}", "text": f"document number {i} about topic {i % 3}"}
        for i in range(23)
    }
    queries = {f"q{i}": f"topic {i % 3} number {i}" for i in range(7)}
    settings = EncodingSettings(precision="float32")
    in_memory = dense.DenseRetriever(tiny_dense_model, settings)
    in_memory.index(corpus)
    expected = in_memory.search(queries, 6)
    monkeypatch.setattr(dense, "MEMO_CORPUS", 10)
    monkeypatch.setattr(dense, "QUERY_BLOCK", 3)
    monkeypatch.setattr(dense, "DOCUMENT_BLOCK", 5)
    streamed = dense.DenseRetriever(tiny_dense_model, settings)
    streamed.index(corpus)
    assert isinstance(streamed.vectors, np.memmap) and streamed.faiss_index is None
    found = streamed.search(queries, 6)
    assert {q: list(h) for q, h in found.items()} == {q: list(h) for q, h in expected.items()}
    for query_id, hits in found.items():
        assert list(hits.values()) == pytest.approx(list(expected[query_id].values()), abs=1e-5)
    (folder,) = (tmp_path / "cache" / "encodings").iterdir()
    (chunk,) = folder.glob("[0-9]*.npy")
    written = chunk.stat().st_mtime_ns
    again = dense.DenseRetriever(tiny_dense_model, settings)
    again.index(corpus)
    assert chunk.stat().st_mtime_ns == written and again.search(queries, 6) == found


@pytest.mark.parametrize("name", ["scifact", "nfcorpus"])
def test_chunked_bm25_index_scores_as_bm25s_own_index(name, shared_data, monkeypatch) -> None:
    """retrieval.bm25_matrix builds the score matrix chunk by chunk; every query's score of every
    document, and so every ranking, equals bm25s's index of all texts at once."""
    import bm25s

    from rankdistill.data.beir import join_title_text
    from rankdistill.data.open import open_dataset
    from rankdistill.retrieval import bm25 as bm25_module

    data = open_dataset(name, "test", shared_data)
    monkeypatch.setattr(bm25_module, "INDEX_CHUNK", 700)  # several chunks, a short last one
    ours = bm25_module.BM25Retriever()
    ours.index(data.corpus)
    theirs = bm25s.BM25(k1=ours.k1, b=ours.b)
    theirs.index(
        ours._tokenize([join_title_text(data.corpus[d]) for d in ours.doc_ids]), show_progress=False
    )
    assert ours.model.scores["num_docs"] == theirs.scores["num_docs"] == len(data.corpus)
    assert len(ours.model.scores["data"]) == len(theirs.scores["data"])
    queries = dict(list(data.queries.items())[:60])
    for text in queries.values():
        terms = ours.query_terms(text)
        if terms:
            assert np.array_equal(ours.model.get_scores(terms), theirs.get_scores(terms))
    tokens = ours._tokenize(list(queries.values()))
    ranked, scores = theirs.retrieve(tokens, k=100, show_progress=False, n_threads=0)
    our_ranked, our_scores = ours.model.retrieve(tokens, k=100, show_progress=False, n_threads=0)
    assert np.array_equal(scores, our_scores) and np.array_equal(ranked, our_ranked)


def test_engine_ray_without_ray_installed_is_a_clear_error(monkeypatch) -> None:
    """Every Ray path (encoding, candidate retrieval, teacher scoring) starts Ray through
    `start_ray`, which names the extra to install rather than failing on an import."""
    from rankdistill.retrieval import ray_encode

    monkeypatch.setattr(ray_encode, "ray_available", lambda: False)
    with pytest.raises(UserError, match=r"pip install rankdistill\[ray\]"):
        ray_encode.start_ray()

"""Real BEIR data from ../shared/data (or $RANKDISTILL_DATA): counts, BM25 quality, metric parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankdistill.data import open_dataset
from rankdistill.evaluation import evaluate_retriever
from rankdistill.metrics import evaluate_run, read_trec_run


def test_scifact_counts_match_beir(shared_data: Path) -> None:
    test = open_dataset("scifact", "test", shared_data)
    assert len(test.corpus) == 5183 and len(test.queries) == 300
    assert sum(len(d) for d in test.qrels.values()) == 339
    train = open_dataset("scifact", "train", shared_data)
    assert len(train.queries) == 809


def test_scifact_bm25_reaches_published_quality(shared_data: Path) -> None:
    evaluation = evaluate_retriever(open_dataset("scifact", "test", shared_data), "bm25")
    assert evaluation.result.num_queries == 300
    assert evaluation.result.aggregate["nDCG@10"] >= 0.66
    assert evaluation.result.aggregate["R@100"] >= 0.88


def test_arguana_unknown_qrels_docs_are_counted_not_fatal(shared_data: Path) -> None:
    dataset = open_dataset("arguana", None, shared_data)
    assert len(dataset.queries) == 1406
    assert len(dataset.warnings) == 1 and "5 judgement(s)" in dataset.warnings[0]


@pytest.mark.parametrize(("year", "expected"), [("dl19", 0.5058), ("dl20", 0.4796)])
def test_trec_dl_bm25_run_scores_pyserini_figures(
    shared_data: Path, year: str, expected: float
) -> None:
    dataset = open_dataset("msmarco-trec-dl", year, shared_data)
    run = read_trec_run(
        shared_data / "msmarco-trec-dl-bm25top100" / "trec" / f"run.bm25-top100.{year}.trec"
    )
    assert evaluate_run(dataset.qrels, run).aggregate["nDCG@10"] == pytest.approx(
        expected, abs=5e-5
    )


def test_minilm_document_path_equals_plain_sentence_transformers(shared_data: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.encoders.models import EncodingSettings, resolve_model
    from rankdistill.retrieval.dense import encode_documents, load_dense_model

    dataset = open_dataset("scifact", "test", shared_data)
    texts = [dataset.doc_text(d) for d in list(dataset.corpus)[:48]]
    ours = encode_documents(
        load_dense_model("all-MiniLM-L6-v2", EncodingSettings(device="cpu")), texts, progress=False
    )
    plain = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu").encode(texts)
    assert ours.shape == (48, 384)
    np.testing.assert_allclose(ours, plain, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)

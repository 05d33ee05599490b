"""Nested-dimension evaluation: truncation re-normalises, full size equals exact dense search,
and fewer dimensions really are fewer (the ranking changes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankdistill.data import open_dataset
from rankdistill.evaluation import evaluate_retriever
from rankdistill.pipeline.matryoshka import evaluate_dims, truncate
from rankdistill.retrieval.dense import load_dense_model
from tests.conftest import write_beir


def test_truncate_keeps_the_head_and_renormalises() -> None:
    vectors = np.array([[3.0, 4.0, 12.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    head = truncate(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), 2, normalize=True)
    assert np.allclose(head, [[0.6, 0.8], [1.0, 0.0]], atol=1e-6)
    assert np.allclose(truncate(vectors, 2, normalize=False), [[3.0, 4.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="cannot truncate 3-d embeddings to 4"):
        truncate(vectors, 4, normalize=True)


def test_full_dimension_equals_exact_dense_search(tmp_path: Path, tiny_dense_model: str) -> None:
    dataset = open_dataset(str(write_beir(tmp_path / "tiny")))
    full = evaluate_retriever(dataset, f"dense:{tiny_dense_model}", k=10)
    dimension = load_dense_model(tiny_dense_model).model.get_sentence_embedding_dimension()
    evaluations = evaluate_dims(
        dataset, tiny_dense_model, "tiny", [dimension // 8, dimension], 10, 8, None
    )
    assert [e.retriever for e in evaluations] == [
        f"tiny @ {dimension} dims",
        f"tiny @ {dimension // 8} dims",
    ]
    at_full, at_eighth = evaluations
    assert at_full.result.aggregate == pytest.approx(full.result.aggregate)
    for query, hits in full.results.items():
        assert list(at_full.results[query]) == list(hits)
    assert any(list(at_eighth.results[q]) != list(full.results[q]) for q in full.results)

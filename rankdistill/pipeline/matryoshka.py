"""Nested-dimension evaluation for Matryoshka students ("Matryoshka Representation Learning",
Kusupati et al., NeurIPS 2022): the first m coordinates of each embedding, re-normalised when the
model uses cosine, searched exactly. The zero-shot model is evaluated the same way, so the report
shows what Matryoshka training bought at each size."""

from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np

from rankdistill.evaluation import RetrieverEvaluation
from rankdistill.metrics import evaluate_run
from rankdistill.retrieval.base import to_results


def truncate(vectors: np.ndarray, dims: int, normalize: bool) -> np.ndarray:
    """The first `dims` coordinates, L2-normalised again when `normalize`."""
    if not 1 <= dims <= vectors.shape[1]:
        raise ValueError(f"cannot truncate {vectors.shape[1]}-d embeddings to {dims}")
    head = np.ascontiguousarray(vectors[:, :dims], dtype=np.float32)
    if normalize:
        faiss.normalize_L2(head)
    return head


def evaluate_dims(
    dataset: Any,
    model: str,
    label: str,
    dims: list[int],
    k: int,
    batch_size: int,
    max_length: int | None,
    precision: str = "auto",
) -> list[RetrieverEvaluation]:
    """`label @ m dims` for each m in `dims` (largest first), exact inner-product search over the
    truncated embeddings of `model` (a folder or name)."""
    from rankdistill.data.resolve import dataset_info
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.dense import (
        encode_documents,
        encode_queries,
        load_dense_model,
        normalizes,
    )

    info = dataset_info(dataset.name)
    encoder = load_dense_model(model, EncodingSettings(batch_size, max_length, None, precision))
    cosine = normalizes(encoder.model)
    doc_ids, query_ids = list(dataset.corpus), list(dataset.queries)
    # Normalising before truncation changes nothing after the re-normalisation, and reuses the
    # embeddings this process already computed for the full-size index or baseline.
    docs = encode_documents(encoder, [dataset.doc_text(d) for d in doc_ids])
    queries = encode_queries(encoder, [dataset.queries[q] for q in query_ids])
    depth = min(k + 1 if info.ignore_identical_ids else k, len(doc_ids))
    evaluations = []
    for m in sorted(set(dims), reverse=True):
        started = time.perf_counter()
        index = faiss.IndexFlatIP(m)
        index.add(truncate(docs, m, cosine))
        scores, rows = index.search(truncate(queries, m, cosine), depth)
        results = to_results(query_ids, doc_ids, rows, scores)
        result = evaluate_run(
            dataset.qrels, results, info.ignore_identical_ids, info.relevance_level
        )
        name = f"{label} @ {m} dims"
        evaluations.append(
            RetrieverEvaluation(
                dataset.name,
                dataset.split,
                name,
                result,
                0.0,
                time.perf_counter() - started,
                results,
            )
        )
    return evaluations

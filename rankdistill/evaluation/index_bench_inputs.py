"""What `index bench` measures on: a dataset's corpus and queries encoded by a model (the
corpus through the same resumable chunk cache as `index build`), or clustered synthetic
vectors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import torch

from rankdistill.data import open_dataset
from rankdistill.data.resolve import dataset_info
from rankdistill.encoders.models import EncodingSettings
from rankdistill.evaluation import safe_name
from rankdistill.evaluation.index_bench import Judge
from rankdistill.indexes.synthetic import MixtureSpec, synthetic_chunks, synthetic_queries
from rankdistill.metrics import evaluate_run
from rankdistill.retrieval.base import to_results
from rankdistill.retrieval.encode import Chunks, Vectors, corpus_hash, encode_chunks, load_encoder


@dataclass
class BenchInputs:
    chunks: Chunks
    queries: Vectors
    dimension: int
    description: str
    judge: Judge | None = None


def _machine() -> str:
    seismic = os.environ.get("RAYON_NUM_THREADS", "all cores")
    return f"{os.cpu_count()} CPUs; search threads: faiss {faiss.omp_get_max_threads()}, Seismic {seismic}; torch threads {torch.get_num_threads()}"


def synthetic_inputs(count: int, dimension: int, queries: int, seed: int) -> BenchInputs:
    spec = MixtureSpec(dimension=dimension, seed=seed)
    chunks = Chunks(list(synthetic_chunks(count, spec)), sparse=False)
    description = (
        f"{count} synthetic {dimension}-d vectors ({spec.clusters} topics in {spec.groups} groups, rank-{spec.rank} "
        f"topic subspaces, seed {seed}), {queries} queries from the same mixture; {_machine()}"
    )
    return BenchInputs(chunks, synthetic_queries(queries, spec), dimension, description)


def dataset_inputs(
    model: str,
    dataset_name: str,
    split: str | None,
    sparse: bool,
    work: Path,
    chunk_size: int,
    batch_size: int,
    max_length: int | None,
    device: str | None,
    data_root: str | Path | None,
) -> BenchInputs:
    dataset = open_dataset(dataset_name, split, data_root)
    info = dataset_info(dataset.name)
    encoder = load_encoder(model, sparse, EncodingSettings(batch_size, max_length, device))
    doc_ids = list(dataset.corpus)
    texts = [dataset.doc_text(doc_id) for doc_id in doc_ids]
    folder = work / f"{safe_name(dataset.name)}-{encoder.fingerprint[:16]}"
    chunks = encode_chunks(
        encoder, texts, folder, chunk_size, {"corpus_sha256": corpus_hash(doc_ids, texts)}
    )
    query_ids = list(dataset.queries)
    queries = encoder.encode_queries([dataset.queries[q] for q in query_ids])

    def judge(scores: np.ndarray, indices: np.ndarray) -> float:
        results = to_results(query_ids, doc_ids, indices, scores)
        return evaluate_run(
            dataset.qrels, results, info.ignore_identical_ids, info.relevance_level
        ).aggregate["nDCG@10"]

    kind = "SPLADE" if sparse else "dense"
    description = (
        f"{dataset.name} {dataset.split}: {len(doc_ids)} documents, {len(query_ids)} queries, {kind} model {model} "
        f"(max length {encoder.max_length}); {_machine()}"
    )
    return BenchInputs(chunks, queries, encoder.dimension, description, judge)

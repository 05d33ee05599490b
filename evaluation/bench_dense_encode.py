"""Dense encoding backends against plain `SentenceTransformer.encode` in float32: docs/s and nDCG@10.

Same model, same SciFact documents, same batch size, one process. For each path the corpus is
encoded once (timed), then the test queries, and exact inner-product search over the encoded
corpus gives nDCG@10 on SciFact test:

  plain          SentenceTransformer.encode(texts), float32 (the anchor)
  torch-float32  rankdistill's document path (length-sorted batches, memo), float32
  torch-bf16     the same under bf16 autocast (only where the CPU runs bf16 natively)
  onnx           ONNX Runtime, float32
  onnx-int8      ONNX Runtime, int8 MatMul weights (dynamic quantisation)
  openvino-float32 / openvino-bf16   OpenVINO with an explicit precision hint

ONNX export (once per model, cached), quantisation and OpenVINO compilation happen before timing
(their seconds are printed). `--docs N` encodes the judged test documents plus a seeded sample up to N documents
(0: the whole corpus) so a bench fits in a few minutes; nDCG@10 is then over that corpus, which
is enough to compare backends with each other.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/bench_dense_encode.py
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from rankdistill.core.hardware import configure_threads, cpu_capability, resolve_precision
from rankdistill.data import open_dataset
from rankdistill.encoders.models import EncodingSettings, resolve_model
from rankdistill.metrics.trec_eval import evaluate_run
from rankdistill.retrieval.dense import encode_documents, encode_queries, load_dense_model

PATHS = {  # name -> (backend, precision)
    "torch-float32": ("torch", "float32"),
    "torch-bf16": ("torch", "bf16"),
    "onnx": ("onnx", "float32"),
    "onnx-int8": ("onnx-int8", "float32"),
    "openvino-float32": ("openvino", "float32"),
    "openvino-bf16": ("openvino", "bf16"),
}


def corpus_sample(dataset, docs: int, seed: int = 0) -> list[str]:
    ids = list(dataset.corpus)
    if not docs or docs >= len(ids):
        return ids
    judged = {d for judged in dataset.qrels.values() for d in judged}
    rest = [d for d in ids if d not in judged]
    random.Random(seed).shuffle(rest)
    keep = judged | set(rest[: max(0, docs - len(judged))])
    return [d for d in ids if d in keep]


def ndcg10(
    dataset, doc_ids: list[str], doc_vectors: np.ndarray, query_vectors: np.ndarray
) -> float:
    query_ids = list(dataset.queries)
    scores = query_vectors @ doc_vectors.T
    top = np.argsort(-scores, axis=1)[:, :10]
    results = {
        q: {doc_ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(query_ids)
    }
    return evaluate_run(dataset.qrels, results, ignore_identical_ids=True).aggregate["nDCG@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument(
        "--docs", type=int, default=2000, help="corpus size (judged + seeded sample); 0 = all"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--path",
        action="append",
        choices=PATHS,
        help="paths to time besides plain (default: all this CPU runs)",
    )
    args = parser.parse_args()
    threads = configure_threads()
    native_bf16 = resolve_precision("auto", "cpu") == "bf16"
    paths = args.path or [p for p in PATHS if native_bf16 or not p.endswith("bf16")]

    dataset = open_dataset(args.dataset, "test")
    doc_ids = corpus_sample(dataset, args.docs)
    texts = [dataset.doc_text(d) for d in doc_ids]
    queries = list(dataset.queries.values())

    plain_model = SentenceTransformer(resolve_model(args.model), device="cpu")
    plain_model.encode(texts[:32])  # first-call costs out of the timings
    started = time.perf_counter()
    plain_docs = plain_model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
    seconds = {"plain": time.perf_counter() - started}
    quality = {
        "plain": ndcg10(
            dataset,
            doc_ids,
            plain_docs,
            plain_model.encode(queries, batch_size=args.batch_size, normalize_embeddings=True),
        )
    }
    cosine = {}

    setup = {}
    for name in paths:
        backend, precision = PATHS[name]
        started = time.perf_counter()
        model = load_dense_model(
            args.model, EncodingSettings(args.batch_size, None, "cpu", precision, backend)
        )
        encode_documents(model, texts[:32], progress=False)  # first-call costs
        setup[name] = time.perf_counter() - started
        started = time.perf_counter()
        vectors = encode_documents(model, texts[32:], progress=False)
        seconds[name] = (time.perf_counter() - started) * len(texts) / (len(texts) - 32)
        vectors = np.concatenate([encode_documents(model, texts[:32], progress=False), vectors])
        quality[name] = ndcg10(dataset, doc_ids, vectors, encode_queries(model, queries))
        cosine[name] = float(np.min(np.sum(vectors * plain_docs, axis=1)))

    print(
        f"model {args.model}, {len(texts)} {args.dataset} docs ({'all' if len(texts) == len(dataset.corpus) else 'judged + seeded sample'}), "
        f"{len(queries)} test queries, batch {args.batch_size}, threads {threads}, torch {torch.__version__}, CPU capability {cpu_capability()}"
    )
    print("| path | docs/s | vs plain | nDCG@10 | vs plain | min cosine to plain |")
    print("|---|---|---|---|---|---|")
    for name, secs in seconds.items():
        print(
            f"| {name} | {len(texts) / secs:.1f} | {seconds['plain'] / secs:.2f}x | {quality[name]:.4f} | {quality[name] - quality['plain']:+.4f} | "
            f"{cosine.get(name, 1.0):.4f} |"
        )
    print(
        "setup before timing (load; export, quantisation, compilation): "
        + ", ".join(f"{n} {s:.1f} s" for n, s in setup.items())
    )


if __name__ == "__main__":
    main()

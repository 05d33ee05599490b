"""Teacher scoring throughput: rankdistill's store-backed scorer vs plain `CrossEncoder.predict`.

Same cross-encoder, same real SciFact (query, BM25 candidate) pairs, one process:
  plain  CrossEncoder.predict(pairs), fp32 (ST already sorts by length internally)
  cold   ScoreStore.score_pairs(CrossEncoderTeacher(bf16=True)) into an empty store
  warm   the same call again from a freshly opened store (every pair already scored)
Prints pairs/s, the ratios cold/plain (goal >= 2x) and warm/plain (goal >= 100x), and how close
the bf16 scores are to the fp32 ones. No pretrained cross-encoder exists offline, so the default
model is all-MiniLM-L6-v2 with a seeded, untrained one-logit head: the same compute as a trained
MiniLM cross-encoder, which is what throughput depends on. Pass --model to use a trained one.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/bench_teacher_scoring.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau
from sentence_transformers import CrossEncoder

from rankdistill.evaluation import open_dataset
from rankdistill.models import resolve_model
from rankdistill.retrieval import build_retriever
from rankdistill.store import ScoreStore
from rankdistill.teachers.cross_encoder import CrossEncoderTeacher


def real_pairs(n: int, depth: int) -> tuple[list[str], list[str]]:
    dataset = open_dataset("scifact", "train")
    retriever = build_retriever("bm25")
    retriever.index(dataset.corpus)
    results = retriever.search(dataset.queries, depth)
    queries, docs = [], []
    for query_id, hits in results.items():
        for doc_id in hits:
            queries.append(dataset.queries[query_id])
            docs.append(dataset.doc_text(doc_id))
    return queries[:n], docs[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="cross-encoder folder (default: MiniLM body + seeded head)")
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--depth", type=int, default=10, help="BM25 candidates per query")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    queries, docs = real_pairs(args.pairs, args.depth)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            torch.manual_seed(0)
            model_path = str(Path(tmp) / "minilm-cross-encoder")
            CrossEncoder(resolve_model("all-MiniLM-L6-v2"), num_labels=1, max_length=args.max_length, device="cpu").save(model_path)
        plain_model = CrossEncoder(model_path, max_length=args.max_length, device="cpu")
        teacher = CrossEncoderTeacher(model_path, max_length=args.max_length, batch_size=args.batch_size, bf16=True, device="cpu")
        plain_model.predict(list(zip(queries[:32], docs[:32])))  # first-call costs out of the timings

        started = time.perf_counter()
        plain = plain_model.predict(list(zip(queries, docs)), batch_size=args.batch_size, activation_fn=torch.nn.Identity())
        plain_s = time.perf_counter() - started

        store_root = Path(tmp) / "store"
        started = time.perf_counter()
        cold = ScoreStore(store_root, teacher.fingerprint).score_pairs(teacher, queries, docs, batch_size=args.batch_size)
        cold_s = time.perf_counter() - started

        started = time.perf_counter()
        warm = ScoreStore(store_root, teacher.fingerprint).score_pairs(teacher, queries, docs, batch_size=args.batch_size, progress=False)
        warm_s = time.perf_counter() - started

    n = len(queries)
    print(f"{n} SciFact train pairs (BM25 top-{args.depth}), max_length {args.max_length}, batch {args.batch_size}, torch threads {torch.get_num_threads()}")
    print("| path | seconds | pairs/s | vs plain |")
    print("|---|---|---|---|")
    for name, seconds in (("plain CrossEncoder.predict (fp32)", plain_s), ("ours, cold store (bf16)", cold_s), ("ours, warm store", warm_s)):
        print(f"| {name} | {seconds:.2f} | {n / seconds:.1f} | {plain_s / seconds:.2f}x |")
    assert np.array_equal(cold, warm)
    tau = kendalltau(plain, cold).statistic
    print(f"bf16 vs fp32 scores: max abs diff {np.abs(plain - cold).max():.4f}, Kendall tau {tau:.4f}")


if __name__ == "__main__":
    main()

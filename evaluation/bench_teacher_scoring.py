"""Teacher scoring throughput: rankdistill's store-backed scorer vs plain `CrossEncoder.predict`.

Same cross-encoder, same real SciFact (query, BM25 candidate) pairs, one process:
  plain  CrossEncoder.predict(pairs), fp32 (ST already sorts by length internally)
  cold   ScoreStore.score_pairs(CrossEncoderTeacher(...)) into an empty store, for each backend:
         torch float32, torch + bf16 autocast, ONNX Runtime float32, ONNX Runtime with int8
         weights, OpenVINO float32 and bf16 (bf16 paths only where the CPU runs bf16 natively)
  warm   the first path again from a freshly opened store (every pair already scored)
Prints pairs/s, the ratios cold/plain (goal >= 2x) and warm/plain (goal >= 100x), and how close
each backend's scores are to plain float32 (max abs difference, Kendall tau over all pairs, and
mean per-query Kendall tau over each query's candidates, which is what reranking sees). The ONNX
export and OpenVINO compilation happen once, before timing (their seconds are printed). No pretrained cross-encoder exists offline, so the default
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

from rankdistill.core.hardware import configure_threads, cpu_capability, resolve_precision
from rankdistill.data import open_dataset
from rankdistill.encoders.models import resolve_model
from rankdistill.retrieval import build_retriever
from rankdistill.store import ScoreStore
from rankdistill.teachers.cross_encoder import CrossEncoderTeacher
from rankdistill.teachers.diagnostics import mean_kendall_tau

PATHS = {  # cold path -> CrossEncoderTeacher options
    "float32": {"backend": "torch", "precision": "float32"},
    "bf16": {"backend": "torch", "precision": "bf16"},
    "onnx": {"backend": "onnx", "precision": "float32"},
    "onnx-int8": {"backend": "onnx-int8", "precision": "float32"},
    "openvino-float32": {"backend": "openvino", "precision": "float32"},
    "openvino-bf16": {"backend": "openvino", "precision": "bf16"},
}


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
    parser.add_argument(
        "--model", default=None, help="cross-encoder folder (default: MiniLM body + seeded head)"
    )
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--depth", type=int, default=10, help="BM25 candidates per query")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--device", default="cpu", help="cpu or cuda (on CUDA only the torch paths run)"
    )
    parser.add_argument(
        "--backend", action="append", choices=PATHS, help="cold paths to time (default: all)"
    )
    args = parser.parse_args()
    native_bf16 = resolve_precision("auto", args.device) == "bf16"
    backends = args.backend or [
        p
        for p in PATHS
        if (native_bf16 or "bf16" not in p) and (args.device == "cpu" or p in ("float32", "bf16"))
    ]

    queries, docs = real_pairs(args.pairs, args.depth)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            torch.manual_seed(0)
            model_path = str(Path(tmp) / "minilm-cross-encoder")
            CrossEncoder(
                resolve_model("all-MiniLM-L6-v2"),
                num_labels=1,
                max_length=args.max_length,
                device=args.device,
            ).save(model_path)
        plain_model = CrossEncoder(model_path, max_length=args.max_length, device=args.device)
        plain_model.predict(
            list(zip(queries[:32], docs[:32]))
        )  # first-call costs out of the timings
        teachers, export_s = {}, {}
        for backend in backends:
            started = time.perf_counter()
            options = PATHS[backend]
            teachers[backend] = CrossEncoderTeacher(
                model_path,
                max_length=args.max_length,
                batch_size=args.batch_size,
                device=args.device,
                **options,
            )
            export_s[backend] = time.perf_counter() - started

        started = time.perf_counter()
        plain = plain_model.predict(
            list(zip(queries, docs)), batch_size=args.batch_size, activation_fn=torch.nn.Identity()
        )
        plain_s = time.perf_counter() - started

        cold, cold_s = {}, {}
        for backend, teacher in teachers.items():
            store_root = Path(tmp) / f"store-{backend}"
            started = time.perf_counter()
            cold[backend] = ScoreStore(store_root, teacher.fingerprint).score_pairs(
                teacher, queries, docs, batch_size=args.batch_size
            )
            cold_s[backend] = time.perf_counter() - started

        warm_s = None
        if teachers:
            first = next(iter(teachers))
            started = time.perf_counter()
            teacher = teachers[first]
            warm = ScoreStore(Path(tmp) / f"store-{first}", teacher.fingerprint).score_pairs(
                teacher, queries, docs, batch_size=args.batch_size, progress=False
            )
            warm_s = time.perf_counter() - started
            assert np.array_equal(cold[first], warm)

    n = len(queries)
    print(
        f"{n} SciFact train pairs (BM25 top-{args.depth}), max_length {args.max_length}, batch {args.batch_size}, "
        f"threads {configure_threads()}, CPU capability {cpu_capability()}"
    )
    print(f"model: {args.model or 'all-MiniLM-L6-v2 body + seeded untrained head'}")
    print("| path | seconds | pairs/s | vs plain | max abs diff | Kendall tau | per-query tau |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| plain CrossEncoder.predict (fp32) | {plain_s:.2f} | {n / plain_s:.1f} | 1.00x | | | |"
    )
    for backend, seconds in cold_s.items():
        diff = np.abs(plain - cold[backend]).max()
        tau = kendalltau(plain, cold[backend]).statistic
        name = {"bf16": "torch, bf16 autocast", "float32": "torch, float32"}.get(backend, backend)
        print(
            f"| ours, cold store, {name} | {seconds:.2f} | {n / seconds:.1f} | {plain_s / seconds:.2f}x | {diff:.4f} | {tau:.4f} "
            f"| {per_query_tau(queries, plain, cold[backend]):.4f} |"
        )
    if warm_s is not None:
        print(
            f"| ours, warm store | {warm_s:.2f} | {n / warm_s:.1f} | {plain_s / warm_s:.2f}x | | | |"
        )
    print(
        "setup before timing (load; ONNX export, quantisation, OpenVINO compilation on first use): "
        + ", ".join(f"{b} {s:.1f} s" for b, s in export_s.items())
    )


def per_query_tau(queries: list[str], a: np.ndarray, b: np.ndarray) -> float:
    """Mean Kendall tau between a and b within each query's candidates (what reranking sees)."""
    groups: dict[str, list[int]] = {}
    for i, query in enumerate(queries):
        groups.setdefault(query, []).append(i)
    return mean_kendall_tau(
        {q: a[rows] for q, rows in groups.items()}, {q: b[rows] for q, rows in groups.items()}
    )


if __name__ == "__main__":
    main()

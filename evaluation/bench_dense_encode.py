"""Dense encoding throughput: rankdistill's document path vs plain SentenceTransformer.encode.

Same model, same SciFact documents, same batch size, in one process; the two paths alternate
over several rounds so that machine noise hits both. Prints docs/s for each and the ratio
ours / plain (goal: >= 0.95, i.e. rankdistill adds no overhead).

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/bench_dense_encode.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from sentence_transformers import SentenceTransformer

from rankdistill.evaluation import open_dataset
from rankdistill.models import resolve_model
from rankdistill.retrieval.dense import encode_documents, load_dense_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    dataset = open_dataset(args.dataset)
    texts = [dataset.doc_text(d) for d in list(dataset.corpus)[: args.docs]]
    ours_model = load_dense_model(args.model, device="cpu")
    plain_model = SentenceTransformer(resolve_model(args.model), device="cpu")
    normalize = ours_model.similarity_fn_name in (None, "cosine")

    def ours() -> None:
        encode_documents(ours_model, texts, batch_size=args.batch_size, progress=False)

    def plain() -> None:
        plain_model.encode(texts, batch_size=args.batch_size, normalize_embeddings=normalize)

    ours_model.encode(texts[:32]), plain_model.encode(texts[:32])  # first-call costs out of the timings

    timings: dict[str, list[float]] = {"ours": [], "plain": []}
    for round_no in range(args.rounds):
        order = [("ours", ours), ("plain", plain)] if round_no % 2 == 0 else [("plain", plain), ("ours", ours)]
        for name, run in order:
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)

    rate = {name: len(texts) / statistics.median(values) for name, values in timings.items()}
    print(f"model {args.model}, {len(texts)} {args.dataset} docs, batch {args.batch_size}, "
          f"{args.rounds} rounds, torch threads {torch.get_num_threads()}")
    print("| path | docs/s (median) | rounds (s) |")
    print("|---|---|---|")
    for name in ("plain", "ours"):
        print(f"| {name} | {rate[name]:.1f} | {', '.join(f'{t:.1f}' for t in timings[name])} |")
    print(f"ratio ours/plain: {rate['ours'] / rate['plain']:.3f}")


if __name__ == "__main__":
    main()

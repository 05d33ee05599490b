"""Score (query, document) pairs with a teacher into a score store, once.

The store is keyed by the teacher's fingerprint (weights, max length, precision, backend) and the
pair's text: the second call below scores nothing, and a killed run resumes where it stopped.

    python examples/score_pairs.py --teacher cross-encoder:my-cross-encoder --store my-store
"""

from __future__ import annotations

import argparse
import time

import rankdistill as rd


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--teacher",
        default="bi-encoder:all-MiniLM-L6-v2",
        help="teacher spec: cross-encoder:DIR, bi-encoder:MODEL, ...",
    )
    parser.add_argument(
        "--data",
        default="data/sample",
        help="BEIR folder whose test queries and BM25 top-5 make the pairs",
    )
    parser.add_argument("--store", default="runs/example-store")
    args = parser.parse_args(argv)

    dataset = rd.open_dataset(args.data, "test")
    bm25 = rd.build_retriever("bm25")
    bm25.index(dataset.corpus)
    queries, docs = [], []
    for query_id, hits in bm25.search(dataset.queries, 5).items():
        for doc_id in hits:
            queries.append(dataset.queries[query_id])
            docs.append(dataset.doc_text(doc_id))

    teacher = rd.build_teacher(args.teacher)
    for attempt in ("first call (scores)", "second call (reads the store)"):
        started = time.perf_counter()
        scores = rd.score_pairs(teacher, queries, docs, args.store, progress=False)
        print(f"{attempt}: {len(scores)} pairs in {time.perf_counter() - started:.2f} s")
    for query, doc, score in list(zip(queries, docs, scores))[:3]:
        print(f"{score:8.3f}  {query[:40]!r} -> {doc[:50]!r}")
    return [float(s) for s in scores]


if __name__ == "__main__":
    main()

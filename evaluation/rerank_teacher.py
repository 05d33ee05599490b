"""A teacher as a reranker of BM25's top-k: nDCG@10 and friends of BM25 alone vs BM25 + teacher.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/rerank_teacher.py \\
        --teacher cross-encoder:PATH --dataset scifact --split test --depth 100

Teacher scores go through a score store (--store), so a rerun or another depth costs nothing
for pairs already scored. On the MS MARCO TREC-DL slice the first stage is the official BM25
top-100 run that ships with the data (`--first-stage trec`), as Pyserini's figures are.
"""

from __future__ import annotations

import argparse

from rankdistill.data.resolve import dataset_info, resolve_dataset
from rankdistill.evaluation import open_dataset, rerank
from rankdistill.metrics import METRICS, evaluate_run, read_trec_run
from rankdistill.retrieval import build_retriever
from rankdistill.teachers import build_teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--split", default=None)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--store", default="runs/score-store")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for a cross-encoder teacher")
    parser.add_argument("--first-stage", choices=("bm25", "trec"), default="bm25")
    args = parser.parse_args()

    dataset = open_dataset(args.dataset, args.split)
    info = dataset_info(args.dataset)
    if args.first_stage == "trec":
        folder = resolve_dataset(args.dataset)
        first = read_trec_run(folder / "trec" / f"run.bm25-top100.{dataset.split}.trec")
        first = {q: hits for q, hits in first.items() if q in dataset.queries}
    else:
        retriever = build_retriever("bm25")
        retriever.index(dataset.corpus)
        first = retriever.search(dataset.queries, args.depth + int(info.ignore_identical_ids))
    teacher = build_teacher(args.teacher, max_length=args.max_length, bf16=args.bf16)
    reranked = rerank(dataset, first, teacher, args.depth, store_root=args.store)

    print(f"{dataset.name}/{dataset.split}, {len(dataset.queries)} queries, rerank depth {args.depth}, teacher {args.teacher} (max_length {args.max_length}, bf16 {args.bf16})")
    print("| system | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for name, run in ((f"BM25 ({args.first_stage})", first), ("BM25 + teacher rerank", reranked)):
        result = evaluate_run(dataset.qrels, run, info.ignore_identical_ids, info.relevance_level)
        print(f"| {name} | " + " | ".join(result.table_row()) + " |")


if __name__ == "__main__":
    main()

"""How many of a query's judged documents the first stage returns: the check behind
`rankdistill teacher train --retrieved-positives` (evaluation/studies/04-teacher_rerank.md).

Prints, for a dataset split, the judged (grade > 0) documents per query and how many of them the
retrievers return within `--depth`. Where most judged documents never reach the first stage, a
positive drawn from all of them is unlike anything a reranker of that stage sees.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/judged_in_first_stage.py nfcorpus --split train
"""

from __future__ import annotations

import argparse

import numpy as np

from rankdistill.data import open_dataset
from rankdistill.mining import mine_candidates, positive_ids


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset")
    parser.add_argument("--split", default="train")
    parser.add_argument(
        "--retriever", action="append", default=None, help="default bm25; repeatable"
    )
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()

    dataset = open_dataset(args.dataset, args.split)
    candidates = mine_candidates(
        dataset, args.retriever or ["bm25"], args.depth, keep_positives=True
    )
    judged, retrieved = [], []
    for query_id in dataset.queries:
        positives = set(positive_ids(dataset.qrels.get(query_id, {})))
        if positives:
            judged.append(len(positives))
            retrieved.append(sum(c.doc_id in positives for c in candidates[query_id]))
    judged_a, retrieved_a = np.array(judged), np.array(retrieved)
    print(
        f"{dataset.name}/{dataset.split}: {len(judged)} queries with a judged document, first stage {args.retriever or ['bm25']} top {args.depth}"
    )
    print(f"judged per query: mean {judged_a.mean():.1f}, median {np.median(judged_a):.0f}")
    print(
        f"judged among the retrieved, per query: mean {retrieved_a.mean():.1f}, median {np.median(retrieved_a):.0f}"
    )
    print(
        f"queries with at least one judged document retrieved: {(retrieved_a > 0).sum()} of {len(judged)}"
    )


if __name__ == "__main__":
    main()

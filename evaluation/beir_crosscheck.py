"""Our metrics against beir's EvaluateRetrieval on BM25 runs, per dataset; where MRR@10 differs,
count the queries whose first relevant hit ties on score with another top-10 hit, and give beir's
MRR@10 on the same top 10 in trec_eval's order (score, then doc id descending), which ours uses.

    RANKDISTILL_DATA=../shared/data python evaluation/beir_crosscheck.py scifact arguana
"""

from __future__ import annotations

import sys

from beir.retrieval.evaluation import EvaluateRetrieval

from rankdistill.data import dataset_info, open_dataset
from rankdistill.evaluation import evaluate_retriever
from rankdistill.metrics.trec_eval import drop_identical_ids, truncate


def main(names: list[str]) -> None:
    print("| dataset | metric | rankdistill | beir |")
    print("|---|---|---|---|")
    for name in names:
        dataset = open_dataset(name)
        evaluation = evaluate_retriever(dataset, "bm25")
        results = evaluation.results
        if dataset_info(name).ignore_identical_ids:
            results = drop_identical_ids(
                results
            )  # what beir's ignore_identical_ids does, for MRR too
        ndcg, _map, recall, _ = EvaluateRetrieval.evaluate(
            dataset.qrels, {q: dict(h) for q, h in results.items()}, [10, 100], False
        )
        mrr = EvaluateRetrieval.evaluate_custom(dataset.qrels, results, [10], metric="mrr")
        theirs = {
            "nDCG@10": ndcg["NDCG@10"],
            "R@100": recall["Recall@100"],
            "MRR@10": mrr["MRR@10"],
            "MAP@100": _map["MAP@100"],
        }
        for metric, value in theirs.items():
            print(
                f"| {name} | {metric} | {evaluation.result.aggregate[metric]:.4f} | {value:.4f} |"
            )
        tied = 0
        for query_id, hits in results.items():
            ranked = list(hits.items())[:10]
            relevant = {d for d, g in dataset.qrels.get(query_id, {}).items() if g > 0}
            first = next((i for i, (d, _) in enumerate(ranked) if d in relevant), None)
            if first is not None and sum(score == ranked[first][1] for _, score in ranked) > 1:
                tied += 1
        print(f"| {name} | queries whose first relevant top-10 hit shares its score | {tied} | |")
        trec_order = {
            q: dict(sorted(sorted(h.items(), reverse=True), key=lambda item: -item[1]))
            for q, h in truncate(results, 10).items()
        }
        reordered = EvaluateRetrieval.evaluate_custom(
            dataset.qrels, trec_order, [10], metric="mrr"
        )["MRR@10"]
        print(f"| {name} | MRR@10, beir on trec_eval's tie order | | {reordered:.4f} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["scifact", "arguana"])

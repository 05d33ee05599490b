"""A cross-encoder student (and its teacher) interpolated with BM25, the weight chosen on dev
queries (issue 17): a post-hoc analysis of a finished cross-encoder student run, no new training.
A run with `evaluate.fusion_weights` does this itself (rankdistill/evaluation/fusion.py); this
script is for runs made without it, and for a student whose own dev queries were generated
(`--dev-run`).

    fused(q, d) = z_q(model(q, d)) + w * z_q(bm25(q, d))     z_q: standardised over q's BM25 top 100

The weight w is picked per model (student, teacher) on the run's own dev queries (training
queries held out from the student's training, `dev.query_ids` of its record), reranking their BM25
top `rerank_depth` (the student and teacher score those pairs here; the teacher's through the score
store), then applied unchanged to the test queries, whose scores are the run's evaluate run files.
The fused reranker costs what the model does: BM25's scores come with its candidates.

    RANKDISTILL_DATA=../shared/data RANKDISTILL_THREADS=1 python evaluation/ce_student_fusion.py \
        configs/studies/cross-encoder-students/scifact-ce-student-kl.yaml

Each fused system's test run is saved as `rankdistill evaluate` saves one, under
RUN/fusion/DATASET/{student_fused,teacher_fused}/ (metrics.json with the weight and the dev curve,
run.trec), so `evaluation/seed_table.py` can put seeds side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from rankdistill.core.hardware import configure_threads
from rankdistill.data import open_dataset
from rankdistill.evaluation import RetrieverEvaluation, evaluate_retriever, rerank, save_evaluation
from rankdistill.evaluation.fusion import WEIGHTS, chosen_weight, fuse, weight_curve
from rankdistill.evaluation.significance import compare
from rankdistill.metrics import evaluate_run, read_trec_run
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.evaluate import student_reranker
from rankdistill.pipeline.run import build_run_teacher, store_root
from rankdistill.training.teacher import restricted


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument(
        "--dev-run",
        default=None,
        help="take the dev query ids from this run folder's student record (for a student trained on generated "
        "queries, whose own dev queries are generated ones: any held-out judged training queries will do)",
    )
    args = parser.parse_args()
    configure_threads()
    config = load_pipeline_config(args.config)
    run_dir, depth = config.run_dir(), config.rerank_depth
    dev_run = Path(args.dev_run) if args.dev_run else run_dir
    record = json.loads(
        (dev_run / "stages" / "train" / "student" / "rankdistill_train.json").read_text()
    )
    dev_ids = record["dev"]["query_ids"]

    # dev: the held-out training queries' BM25 top `depth`, scored now by the student and the teacher
    dev = restricted(
        open_dataset(config.dataset, config.mine.split, config.data_root), set(dev_ids)
    )
    if len(dev.queries) < len(dev_ids):
        parser.error(
            f"{len(dev_ids) - len(dev.queries)} of the dev queries of {dev_run} are not {config.dataset} "
            f"{config.mine.split} queries (generated ones?): name a run with judged dev queries in --dev-run"
        )
    dev_bm25 = evaluate_retriever(dev, "bm25", depth).results
    student = student_reranker(
        config, run_dir / "stages" / "train" / "student", config.evaluate.batch_size
    )
    teacher = build_run_teacher(
        config, [dev.doc_text(d) for d in dev.corpus], None
    )  # the corpus: for a bm25 member of an ensemble teacher
    dev_scores = {
        name: rerank(dev, dev_bm25, model, depth, store_root(config), config.evaluate.batch_size)
        for name, model in (("student", student), ("teacher", teacher))
    }

    # test: the run's own run files
    test = open_dataset(config.dataset, config.evaluate.split, config.data_root)
    folder = run_dir / "stages" / "evaluate" / test.name
    test_bm25 = read_trec_run(folder / "bm25" / "run.trec")
    test_scores = {
        "student": read_trec_run(folder / f"student_rerank_of_bm25_{depth}" / "run.trec"),
        "teacher": read_trec_run(folder / f"bm25___teacher_rerank_{depth}" / "run.trec"),
    }

    def ndcg(qrels, run):
        return evaluate_run(qrels, run).aggregate["nDCG@10"]

    print(
        f"dev: {len(dev_ids)} held-out training queries, BM25 top {depth}: BM25 nDCG@10 {ndcg(dev.qrels, dev_bm25):.4f}"
    )
    print(f"test: BM25 nDCG@10 {ndcg(test.qrels, test_bm25):.4f}")
    per_query = {}
    for name in ("student", "teacher"):
        curve = weight_curve(dev.qrels, dev_scores[name], dev_bm25, WEIGHTS)
        best = chosen_weight(curve)
        fused_run = fuse(test_scores[name], test_bm25, best)
        result = evaluate_run(test.qrels, fused_run)
        alone = ndcg(test.qrels, test_scores[name])
        per_query[name] = result.per_query
        fused = RetrieverEvaluation(
            test.name, config.evaluate.split, f"{name}_fused", result, 0.0, 0.0, fused_run
        )
        save_evaluation(
            fused,
            run_dir / "fusion",
            {
                "weight": best,
                "weights": list(WEIGHTS),
                "dev_curve": {str(w): v for w, v in curve.items()},
                "dev_query_ids": dev_ids,
                "dev_run": str(dev_run),
                "depth": depth,
                "config": args.config,
            },
        )
        print(
            f"{name}: dev nDCG@10 by w: " + ", ".join(f"{w:g}: {v:.4f}" for w, v in curve.items())
        )
        print(
            f"{name}: w = {best:g} (dev {curve[best]:.4f}); test nDCG@10 alone {alone:.4f}, fused with BM25 {result.aggregate['nDCG@10']:.4f}"
        )
    queries = sorted(per_query["student"])
    x = np.array([per_query["student"][q]["nDCG@10"] for q in queries])
    y = np.array([per_query["teacher"][q]["nDCG@10"] for q in queries])
    print(f"fused student vs fused teacher on test: {compare(x, y)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

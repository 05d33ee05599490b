"""Is a cross-encoder student that reranks near random a bug or an untrained model? (issue 17)

Checks, on a handful of training rows and test queries of a cross-encoder student run:
  1. labels: each row's label is the teacher's raw logit of exactly (query, candidate text) as the
     row holds them (the teacher rescoring them now, as mine scored them);
  2. training view = evaluation view: the loss's student logits of a batch of rows
     (`CrossEncoderListLoss.student_scores`, what training backpropagates) equal the reranker's
     (`CrossEncoderTeacher.score`, raw logits, what evaluate reads) on the same pairs, in eval
     mode; both truncate to the same length; the teacher returns raw logits too;
  3. the rerank path: the scores `rerank` returns for each (query, doc id) are the student's
     score of that query and that doc id's text (title + text, `doc_text`);
  4. the run's trained student, when there is one, on the same rows (positive first, Kendall tau);
  5. with --anchor: the untrained student (the config's cut, before any step) reranking BM25's
     top `rerank_depth` of every test query, nDCG@10 (the sanity anchor; 30k pairs on SciFact);
  6. with --ties N: how many distinct scores the run's student (and teacher) reranking holds per
     query (the bf16 logit is rounded), and its nDCG@10 on N test queries rescored in float32.

    RANKDISTILL_DATA=../shared/data RANKDISTILL_THREADS=1 python evaluation/ce_student_checks.py \
        configs/studies/cross-encoder-students/scifact-ce-student.yaml [--rows 8] [--queries 3] [--anchor]
"""

from __future__ import annotations

import argparse
import sys
import tempfile

import numpy as np
import torch

from rankdistill.core.hardware import configure_threads
from rankdistill.data import open_dataset
from rankdistill.data.open import corpus_texts
from rankdistill.encoders.models import EncodingSettings
from rankdistill.evaluation import evaluate_retriever, rerank
from rankdistill.metrics import evaluate_run
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import build_run_teacher
from rankdistill.teachers import build_teacher
from rankdistill.training.data import build_rows, load_records
from rankdistill.training.students import build_student


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--queries", type=int, default=3)
    parser.add_argument(
        "--anchor",
        action="store_true",
        help="also rerank every test query with the untrained student",
    )
    parser.add_argument(
        "--ties",
        type=int,
        default=0,
        metavar="N",
        help="the run's student reranking: distinct scores per query in its run file (bf16 rounds the logit), and "
        "nDCG@10 of its first N test queries rescored in float32 against the run's own scores of them",
    )
    args = parser.parse_args()
    configure_threads()
    config = load_pipeline_config(args.config)
    train, run_dir = config.train, config.run_dir()
    print(f"run {run_dir}")
    dataset = open_dataset(config.dataset, config.mine.split, config.data_root)
    records = load_records(run_dir / "stages" / "mine" / "train.jsonl", dataset)[: args.rows]
    rows = build_rows(records, dataset, train.data.negatives, config.seed).rows
    teacher = build_run_teacher(
        config, corpus_texts(dataset)[1], None
    )  # the corpus: for a bm25 member of an ensemble teacher
    print(
        f"teacher: {type(teacher).__name__}, activation {type(getattr(teacher, 'activation', None)).__name__}, max length "
        f"{getattr(teacher, 'max_length', None)}, precision {getattr(teacher, 'precision', None)}, backend {getattr(teacher, 'backend', None)}"
    )

    # 1. labels against the teacher now
    columns = ["positive"] + [f"negative_{j + 1}" for j in range(train.data.negatives)]
    worst = 0.0
    for row in rows:
        fresh = teacher.score([row["query"]] * len(columns), [row[c] for c in columns])
        worst = max(worst, float(np.abs(fresh - np.array(row["label"])).max()))
    labels = np.array([row["label"] for row in rows])
    print(
        f"1. labels: {len(rows)} rows, max |label - teacher now| = {worst:.4f}; label spread per row (max - min): "
        f"{np.ptp(labels, axis=1).round(2).tolist()}; positive first in {int((labels.argmax(1) == 0).sum())}/{len(rows)}"
    )

    # 2. the student as training sees it and as evaluation sees it
    student = build_student(train.student, train.loss, device="cpu")
    model, loss = student.model, student.loss
    model.eval()
    inputs = [[row["query"] for row in rows]] + [[row[c] for row in rows] for c in columns]
    with torch.inference_mode():
        trained_view = loss.student_scores(
            inputs
        ).numpy()  # (rows, candidates), float32, no autocast
    with tempfile.TemporaryDirectory() as folder:
        model.save(folder)
        reranker = build_teacher(
            f"cross-encoder:{folder}",
            encoding=EncodingSettings(32, train.student.max_length, precision="float32"),
        )
        eval_view = np.stack(
            [
                reranker.score([row["query"]] * len(columns), [row[c] for c in columns])
                for row in rows
            ]
        )
        lengths = [
            model.preprocess([(row["query"], row[c])])["input_ids"].shape[1]
            for row in rows
            for c in columns
        ]
        longest_eval = max(
            reranker.model.preprocess([(row["query"], row[c])])["input_ids"].shape[1]
            for row in rows
            for c in columns
        )
        print(
            f"2. student (untrained {train.student.layers}-layer cut, float32): max |training logits - evaluation logits| = "
            f"{np.abs(trained_view - eval_view).max():.2e}; tokens per pair: training max {max(lengths)}, evaluation max "
            f"{longest_eval} (max_length {train.student.max_length}); reranker activation {type(reranker.activation).__name__}"
        )
        print(f"   its logits span {np.ptp(eval_view, axis=1).round(3).tolist()} per row")

        # 3. the rerank path on a few test queries
        test = open_dataset(config.dataset, config.evaluate.split, config.data_root)
        first = evaluate_retriever(test, "bm25", config.evaluate.k)
        few = {q: first.results[q] for q in list(first.results)[: args.queries]}
        reranked = rerank(test, few, reranker, config.rerank_depth, None, 32)
        worst = 0.0
        for query_id, hits in reranked.items():
            ids = list(hits)
            direct = reranker.score(
                [test.queries[query_id]] * len(ids), [test.doc_text(d) for d in ids]
            )
            worst = max(worst, float(np.abs(direct - np.array([hits[d] for d in ids])).max()))
        print(
            f"3. rerank path: {args.queries} test queries x {config.rerank_depth}: max |rerank's score of (q, id) - student(q, doc_text(id))| = {worst:.2e}"
        )
        example = next(iter(few))
        doc = max(reranked[example], key=reranked[example].get)
        print(
            f"   e.g. query {example!r}: {test.queries[example][:80]!r}; its top doc {doc}: {test.doc_text(doc)[:100]!r}"
        )

        trained = run_dir / "stages" / "train" / "student"
        if (trained / "rankdistill_train.json").is_file():
            from scipy.stats import kendalltau

            saved = build_teacher(
                f"cross-encoder:{trained}",
                encoding=EncodingSettings(32, train.student.max_length, precision="float32"),
            )
            scored = np.stack(
                [
                    saved.score([row["query"]] * len(columns), [row[c] for c in columns])
                    for row in rows
                ]
            )
            taus = [kendalltau(a, b).statistic for a, b in zip(scored, labels)]
            print(
                f"4. the run's trained student on these {len(rows)} training rows: positive first in {int((scored.argmax(1) == 0).sum())}, "
                f"mean Kendall tau with the labels {np.nanmean(taus):.3f}; logits span {np.ptp(scored, axis=1).round(2).tolist()}"
            )

        evaluated = (
            run_dir
            / "stages"
            / "evaluate"
            / test.name
            / f"student_rerank_of_bm25_{config.rerank_depth}"
            / "run.trec"
        )
        if args.ties and evaluated.is_file():
            from rankdistill.metrics import read_trec_run

            as_run = read_trec_run(evaluated)
            teacher_file = (
                evaluated.parent.parent
                / f"bm25___teacher_rerank_{config.rerank_depth}"
                / "run.trec"
            )
            for label, path in (("student", evaluated), ("teacher", teacher_file)):
                if path.is_file():
                    found = read_trec_run(path)
                    distinct = np.mean(
                        [len(set(hits.values())) / len(hits) for hits in found.values()]
                    )
                    spread = np.mean(
                        [max(hits.values()) - min(hits.values()) for hits in found.values()]
                    )
                    print(
                        f"6. {label} run file: distinct scores per query {100 * distinct:.1f}% of its candidates, mean score spread {spread:.3f}"
                    )
            subset = {q: first.results[q] for q in list(first.results)[: args.ties]}
            saved = build_teacher(
                f"cross-encoder:{trained}",
                encoding=EncodingSettings(32, train.student.max_length, precision="float32"),
            )
            exact = rerank(test, subset, saved, config.rerank_depth, None, 32)
            qrels = {q: test.qrels[q] for q in subset if q in test.qrels}
            print(
                f"   first {len(subset)} test queries: nDCG@10 as run {evaluate_run(qrels, {q: as_run[q] for q in subset}).aggregate['nDCG@10']:.4f}, "
                f"rescored in float32 {evaluate_run(qrels, exact).aggregate['nDCG@10']:.4f}, BM25 {evaluate_run(qrels, subset).aggregate['nDCG@10']:.4f}"
            )

        if args.anchor:
            auto = build_teacher(
                f"cross-encoder:{folder}",
                encoding=EncodingSettings(
                    32, train.student.max_length, precision=train.trainer.precision
                ),
            )  # as evaluate
            full = rerank(test, first.results, auto, config.rerank_depth, None, 32)
            bm25 = evaluate_run(test.qrels, first.results).aggregate["nDCG@10"]
            untrained = evaluate_run(test.qrels, full).aggregate["nDCG@10"]
            print(
                f"5. anchor: BM25 {bm25:.4f}; the untrained cut reranking BM25 top {config.rerank_depth}: nDCG@10 {untrained:.4f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

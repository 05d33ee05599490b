"""The teacher-label diagnostics table of evaluation/studies/12-distillation_study.md: how peaked, how
confident and how close to the judgements each teacher's labels are on the training rows
(rankdistill/mining/label_stats.py says what each column means).

Each argument is NAME=TRAINING_SET.jsonl, mined with false-negative control off, e.g.

    rankdistill mine --dataset scifact --retriever bm25 --teacher ensemble:configs/teachers/bm25-minilm.yaml \
        --store runs/score-store --output runs/labels/bm25-minilm.jsonl --n-top 15 --n-random 0 --depth 30
    python evaluation/teacher_labels.py "BM25 + MiniLM=runs/labels/bm25-minilm.jsonl" ...
"""

from __future__ import annotations

import sys

from rankdistill.mining import read_training_set
from rankdistill.mining.label_stats import label_statistics

COLUMNS = [
    ("records", "records", "{:.0f}"),
    ("entropy", "entropy / log n", "{:.3f}"),
    ("p_positive", "p(positive)", "{:.3f}"),
    ("top1_agrees", "top-1 = judged positive", "{:.3f}"),
    ("median_positive_rank", "median positive rank", "{:.0f}"),
    ("positive_rank", "mean positive rank", "{:.2f}"),
    ("margin", "margin (best pos - best neg)", "{:.2f}"),
    ("std", "score std", "{:.2f}"),
]


def main(arguments: list[str]) -> None:
    print("| teacher | " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for argument in arguments:
        name, _, path = argument.partition("=")
        stats = label_statistics(read_training_set(path))
        print(f"| {name} | " + " | ".join(fmt.format(stats[key]) for key, _, fmt in COLUMNS) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])

"""How good are the teacher's own positives? Read AFTER a label-free run, on a dataset that has
judgements for the queries it trained on (the run itself never opened them).

    python evaluation/label_free_checks.py runs/query-log/stages/mine/train.jsonl scifact train

For every record: is the teacher's top 1 a judged positive (precision@1 of the teacher's choice),
is any judged positive in the teacher's list (its top 1 + n_top), and is any in the union the
teacher could choose from (the record's `ranks` of the list only: a judged positive outside the
list is counted as outside the union's top)."""

from __future__ import annotations

import sys

from rankdistill.data import open_dataset
from rankdistill.mining import read_training_set


def main(training_set: str, dataset: str, split: str) -> None:
    judged = open_dataset(dataset, split).qrels
    records = [r for r in read_training_set(training_set) if r.query_id in judged]
    relevant = {q: {d for d, g in docs.items() if g > 0} for q, docs in judged.items()}
    top1 = sum(r.positives[0].doc_id in relevant[r.query_id] for r in records)
    listed = sum(
        bool(
            relevant[r.query_id]
            & ({p.doc_id for p in r.positives} | {n.doc_id for n in r.negatives})
        )
        for r in records
    )
    length = 1 + max(len(r.negatives) for r in records)
    print(f"{training_set}: {len(records)} records with judgements in {dataset}/{split}")
    print(
        "| teacher's top 1 is a judged positive | a judged positive in the teacher's top "
        f"{length} |\n|---|---|\n| {top1 / len(records):.3f} ({top1}) | {listed / len(records):.3f} ({listed}) |"
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])

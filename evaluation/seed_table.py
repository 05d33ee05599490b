"""Systems over several seeds, side by side: nDCG@10 mean +- sd over the seeds, and a paired
test of each against a reference on per-query nDCG@10 averaged over its seeds (the table format
of evaluation/studies/12-distillation_study.md).

    python evaluation/seed_table.py --dataset scifact --reference zero-shot \\
        "zero-shot=runs/scifact-query-side:dense:all-MiniLM-L6-v2" \\
        "query-side=runs/scifact-query-side,runs/scifact-query-side-seed14,runs/scifact-query-side-seed15" \\
        "full fine-tuning=runs/scifact-full-finetune,runs/scifact-full-finetune-seed14,runs/scifact-full-finetune-seed15"

A group is NAME=RUN[,RUN...][:SYSTEM] (SYSTEM: the runs' student unless named). A RUN may also be
the folder `rankdistill evaluate --output OUT` wrote for one retriever on one dataset,
OUT/DATASET/RETRIEVER (the one holding metrics.json), e.g. students of several seeds evaluated on
a dataset their runs did not evaluate:

    O=runs/ood-arguana/anchor5/arguana
    python evaluation/seed_table.py --dataset arguana --reference zero-shot "zero-shot=$O/dense_all-MiniLM-L6-v2" \
        "anchor 5=$O/dense_runs_nfcorpus-query-side-p3-infonce-e7-anchor5_stages_train_student,$O/dense_runs_nfcorpus-query-side-p3-infonce-e7-anchor5-seed14_stages_train_student,$O/dense_runs_nfcorpus-query-side-p3-infonce-e7-anchor5-seed15_stages_train_student"

A second --reference adds a second comparison column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.evaluation import load_evaluation
from rankdistill.evaluation.significance import compare, paired_values
from rankdistill.pipeline.compare import load_run, student_system
from rankdistill.pipeline.report import MAIN_METRIC


def group(spec: str, dataset: str) -> tuple[str, list[float], dict[str, dict[str, float]]]:
    """(name, per-seed means, per-query values averaged over the seeds)."""
    name, _, rest = spec.partition("=")
    folders, _, system = rest.partition(":")
    per_seed, per_query = [], {}
    for folder in folders.split(","):
        values = per_query_values(folder, system, dataset)
        per_seed.append(float(np.mean([v[MAIN_METRIC] for v in values.values()])))
        for query, metrics in values.items():
            per_query.setdefault(query, []).append(metrics[MAIN_METRIC])
    return name, per_seed, {q: {MAIN_METRIC: float(np.mean(v))} for q, v in per_query.items()}


def per_query_values(folder: str, system: str, dataset: str) -> dict[str, dict[str, float]]:
    """Per-query metrics of SYSTEM in a run folder, or of the one retriever an evaluate folder holds."""
    if (Path(folder) / "metrics.json").is_file():
        saved = load_evaluation(folder)
        if saved["dataset"] != dataset:
            raise UserError(f"{folder}: evaluated on {saved['dataset']}, not {dataset}")
        if system and system != saved["retriever"]:
            raise UserError(f"{folder}: holds retriever {saved['retriever']!r}, not {system!r}")
        return saved["per_query"]
    run = load_run(folder, dataset)
    return run.systems[system or student_system(run)]["per_query"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--reference", action="append", default=[])
    parser.add_argument("groups", nargs="+")
    args = parser.parse_args()
    try:
        rows = [group(spec, args.dataset) for spec in args.groups]
    except UserError as error:
        parser.exit(2, f"error: {error}\n")
    by_name = {name: per_query for name, _, per_query in rows}
    missing = [r for r in args.reference if r not in by_name]
    if missing:
        parser.error(f"--reference {missing[0]!r} names no group (groups: {', '.join(by_name)})")
    head = ["system", "seeds", f"{MAIN_METRIC} mean +- sd", "per seed"]
    for reference in args.reference:
        head += [f"vs {reference} (seed-averaged)", "wins / losses / ties", "randomisation p"]
    print(f"{args.dataset}\n\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for name, per_seed, per_query in rows:
        sd = f"{np.std(per_seed, ddof=1):.4f}" if len(per_seed) > 1 else "-"
        cells = [
            name,
            str(len(per_seed)),
            f"{np.mean(per_seed):.4f} +- {sd}",
            " / ".join(f"{v:.4f}" for v in per_seed),
        ]
        for reference in args.reference:
            if reference == name:
                cells += ["(reference)", "", ""]
                continue
            c = compare(*paired_values(per_query, by_name[reference], MAIN_METRIC))
            cells += [
                f"{c['delta']:+.4f}",
                f"{c['wins']} / {c['losses']} / {c['ties']}",
                f"{c['randomisation_p']:.3g}",
            ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""The label-budget curve (issue 35 item 5): nDCG@10 against the number of judged training queries,
in three arms, from the runs of configs/studies/label-budget/ collected by
evaluation/label_free_collect.sh into evaluation/results/label_free/<run>/.

    python evaluation/label_budget.py scifact [nfcorpus ...]

Run names: <dataset>-budget-teacher, <dataset>-budget-judged-N, <dataset>-budget-both-N, each
optionally with -seedS. Prints one markdown table per dataset (mean over the seeds found, their
count, and teacher + judgements against judgements only at each N: the mean difference and the
paired randomisation p over the queries' seed-mean nDCG@10), each run's test queries split by the
document prior (rankdistill/evaluation/prior.py: whether a relevant document is a positive of the
dataset's train judgements), and draws evaluation/figures/label_budget.png.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from rankdistill.evaluation.significance import compare, paired_values

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "label_free"
FIGURE = ROOT / "figures" / "label_budget.png"
METRIC = "nDCG@10"
STUDENT = "student__Flat_"
ZERO_SHOT = "dense_all-MiniLM-L6-v2"
RERANK = "bm25___teacher_rerank_100"
NAME = re.compile(
    r"^(?P<dataset>[a-z]+)-budget-(?:(?P<arm>judged|both)-(?P<n>\d+)|teacher)(?:-seed(?P<seed>\d+))?$"
)
ARMS = {"judged": "judgements only", "both": "teacher + judgements", "teacher": "teacher only"}


def per_query(run: Path, dataset: str, system: str) -> dict[str, float]:
    saved = json.loads((run / dataset / system / "metrics.json").read_text())
    return {q: values[METRIC] for q, values in saved["per_query"].items()}


def seed_mean(runs: list[dict[str, float]]) -> dict[str, float]:
    queries = set.intersection(*(set(r) for r in runs))
    return {q: float(np.mean([r[q] for r in runs])) for q in queries}


def collect(
    dataset: str,
) -> tuple[dict[tuple[str, int | None], list[dict[str, float]]], dict[str, dict[str, float]]]:
    """{(arm, N): [per-query values, one per seed]} and the shared baselines' per-query values."""
    found: dict[tuple[str, int | None], list[dict[str, float]]] = defaultdict(list)
    baselines: dict[str, dict[str, float]] = {}
    for run in sorted(RESULTS.iterdir()):
        match = NAME.match(run.name)
        if (
            not match
            or match["dataset"] != dataset
            or not (run / dataset / STUDENT / "metrics.json").is_file()
        ):
            continue
        arm, n = match["arm"] or "teacher", int(match["n"]) if match["n"] else None
        found[(arm, n)].append(per_query(run, dataset, STUDENT))
        for name, system in (("zero-shot", ZERO_SHOT), ("teacher rerank@100", RERANK)):
            if name not in baselines and (run / dataset / system / "metrics.json").is_file():
                baselines[name] = per_query(run, dataset, system)
    return found, baselines


def table(dataset: str) -> tuple[str, dict]:
    found, baselines = collect(dataset)
    if not found:
        raise SystemExit(f"no label-budget runs of {dataset} under {RESULTS}")
    budgets = sorted({n for arm, n in found if n is not None})
    mean = {
        key: float(np.mean([np.mean(list(r.values())) for r in runs]))
        for key, runs in found.items()
    }
    lines = [
        f"### {dataset}: nDCG@10 against judged training queries",
        "",
        "| judged queries | judgements only | teacher + judgements | both - judged (p) | seeds |",
        "|---|---|---|---|---|",
    ]
    teacher = found.get(("teacher", None))
    if teacher:
        lines.append(
            f"| 0 | {np.mean(list(baselines.get('zero-shot', {}).values()) or [np.nan]):.4f} (zero-shot) | "
            f"{mean[('teacher', None)]:.4f} (teacher only) | | {len(teacher)} |"
        )
    for n in budgets:
        judged, both = found.get(("judged", n)), found.get(("both", n))
        cells = [f"{mean[(arm, n)]:.4f}" if (arm, n) in mean else "" for arm in ("judged", "both")]
        test = ""
        if judged and both:
            x, y = paired_values(
                {q: {METRIC: v} for q, v in seed_mean(both).items()},
                {q: {METRIC: v} for q, v in seed_mean(judged).items()},
                METRIC,
            )
            result = compare(x, y)
            test = f"{result['delta']:+.4f} (p {result['randomisation_p']:.4f})"
        seeds = "/".join(str(len(found.get((arm, n), []))) for arm in ("judged", "both"))
        lines.append(f"| {n} | {cells[0]} | {cells[1]} | {test} | {seeds} |")
    for name, values in baselines.items():
        lines.append(f"\n{name}: {np.mean(list(values.values())):.4f}")
    lines += prior_lines(dataset, found, baselines)
    return "\n".join(lines), {
        "mean": mean,
        "budgets": budgets,
        "baselines": {k: float(np.mean(list(v.values()))) for k, v in baselines.items()},
    }


def prior_lines(
    dataset: str,
    found: dict[tuple[str, int | None], list[dict[str, float]]],
    baselines: dict[str, dict[str, float]],
) -> list[str]:
    """Zero-shot and every arm's seed-mean nDCG@10 on the test queries with and without a relevant
    document among the train judgements' positives (read after the runs: no run used this)."""
    from rankdistill.data import open_dataset
    from rankdistill.evaluation.prior import group_means, prior_split

    train = open_dataset(dataset, "train").qrels
    positives = {d for docs in train.values() for d, grade in docs.items() if grade > 0}
    queries = next(iter(baselines.values()), None) or next(iter(found.values()))[0]
    groups = prior_split(positives, open_dataset(dataset, "test").qrels, list(queries))
    head = " | ".join(f"{group} ({len(ids)})" for group, ids in groups.items())
    lines = ["", f"| {dataset}: the document prior | {head} |", "|---|" + "---|" * len(groups)]
    rows = [("zero-shot", baselines["zero-shot"])] if "zero-shot" in baselines else []
    rows += [
        (ARMS[arm] + ("" if n is None else f", {n}"), seed_mean(runs))
        for (arm, n), runs in sorted(found.items(), key=str)
    ]
    for name, values in rows:
        means = group_means({q: {METRIC: v} for q, v in values.items()}, groups, METRIC)
        lines.append(
            f"| {name} | "
            + " | ".join("-" if v is None else f"{v:.4f}" for v in means.values())
            + " |"
        )
    return lines


def plot(curves: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4), squeeze=False)
    for ax, (dataset, curve) in zip(axes[0], curves.items()):
        mean, budgets = curve["mean"], curve["budgets"]
        zero = curve["baselines"].get("zero-shot")
        for arm, style in (("judged", "o--"), ("both", "s-")):
            xs = [n for n in budgets if (arm, n) in mean]
            ys = [mean[(arm, n)] for n in xs]
            start = zero if arm == "judged" else mean.get(("teacher", None))
            if start is not None:
                xs, ys = [0, *xs], [start, *ys]
            ax.plot(
                [max(x, 5) for x in xs], ys, style, label=ARMS[arm]
            )  # 0 judged drawn at 5 on the log axis
        if ("teacher", None) in mean:
            ax.axhline(
                mean[("teacher", None)], color="tab:green", linestyle=":", label=ARMS["teacher"]
            )
        for name, value in curve["baselines"].items():
            ax.axhline(
                value,
                color="grey",
                linewidth=0.8,
                linestyle="-." if "rerank" in name else "-",
                label=name,
            )
        ax.set_xscale("log")
        ax.set_xticks([5, *budgets], ["0", *map(str, budgets)])
        ax.set_xlabel("judged training queries")
        ax.set_ylabel("nDCG@10 (test)")
        ax.set_title(dataset)
        ax.legend(fontsize=8)
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=120)
    print(f"wrote {FIGURE}")


def main(datasets: list[str]) -> None:
    curves = {}
    for dataset in datasets:
        text, curves[dataset] = table(dataset)
        print(text, "\n")
    plot(curves)


if __name__ == "__main__":
    main(sys.argv[1:] or ["scifact"])

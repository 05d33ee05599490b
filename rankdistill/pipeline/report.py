"""`runs/NAME/report.md`: did distillation work? Systems side by side with paired significance,
per-query wins and losses, teacher-student agreement, latency, stage timings, config, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rankdistill.core.atomic import atomic_write, atomic_write_text
from rankdistill.core.config import config_dict
from rankdistill.core.provenance import provenance
from rankdistill.data.resolve import colliding_names
from rankdistill.evaluation.significance import compare, paired_values
from rankdistill.metrics import METRICS
from rankdistill.pipeline.cache import StageOutcome

MAIN_METRIC = "nDCG@10"


def _reference(systems: dict[str, Any]) -> str | None:
    """The system the others are compared with: the student if there is one, else the teacher."""
    for prefix in ("student", "bm25 + teacher"):
        for name in systems:
            if name.startswith(prefix):
                return name
    return None


def _table(
    systems: dict[str, Any], reference: str | None, seed: int
) -> tuple[list[str], dict[str, dict[str, float]]]:
    head = ["system", *METRICS]
    if reference:
        head += [
            f"{reference} vs it ({MAIN_METRIC})",
            "wins / losses / ties",
            "t-test p",
            "randomisation p",
        ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    comparisons = {}
    for name, system in systems.items():
        row = [name, *(f"{system['metrics'][m]:.4f}" for m in METRICS)]
        if reference:
            if name == reference:
                row += ["(reference)", "", "", ""]
            else:
                x, y = paired_values(
                    systems[reference]["per_query"], system["per_query"], MAIN_METRIC
                )
                c = compare(x, y, seed)
                comparisons[name] = c
                row += [
                    f"{c['delta']:+.4f}",
                    f"{c['wins']} / {c['losses']} / {c['ties']}",
                    f"{c['t_test_p']:.3g}",
                    f"{c['randomisation_p']:.3g}",
                ]
        lines.append("| " + " | ".join(row) + " |")
    return lines, comparisons


def _plot(systems: dict[str, Any], reference: str | None, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if reference and len(systems) > 1 else 1
    figure, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 3.8), squeeze=False)
    names = list(systems)
    values = [systems[n]["metrics"][MAIN_METRIC] for n in names]
    bars = axes[0][0]
    bars.barh(
        range(len(names)), values, color=["#c0504d" if n == reference else "#3b6ea5" for n in names]
    )
    bars.set_yticks(
        range(len(names)), [n if len(n) < 38 else n[:35] + "..." for n in names], fontsize=8
    )
    bars.invert_yaxis()
    bars.set_xlabel(MAIN_METRIC)
    bars.set_title(title, fontsize=9)
    for i, v in enumerate(values):
        bars.text(v, i, f" {v:.3f}", va="center", fontsize=8)
    if panels == 2:
        axis = axes[0][1]
        for name in names:
            if name == reference:
                continue
            x, y = paired_values(
                systems[reference]["per_query"], systems[name]["per_query"], MAIN_METRIC
            )
            axis.plot(np.sort(x - y)[::-1], label=name if len(name) < 38 else name[:35] + "...")
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_xlabel("queries, sorted")
        axis.set_ylabel(f"{MAIN_METRIC}: {reference} minus system")
        axis.legend(fontsize=7)
        axis.set_title("per-query wins (above 0) and losses", fontsize=9)
    figure.tight_layout()
    atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=110), binary=True)
    plt.close(figure)


def _latency_of(role: str, latency: dict[str, float]) -> str:
    """The measured ms/query that belongs to a model of the cost table ("" when none was)."""
    if role.startswith(
        "teacher"
    ):  # a reranking teacher, or an embedding teacher timed as a dense baseline
        model = role.partition(" ")[2]
        keys = [
            k
            for k in latency
            if k.startswith("bm25 + teacher rerank")
            or k.startswith(f"dense:{model} query encoding")
        ]
    elif role == "student":
        keys = [
            k
            for k in latency
            if k.startswith("bm25 + student rerank") or k.startswith("student query encoding")
        ]
    else:
        keys = [k for k in latency if k.startswith(f"{role} query encoding")]
    return "; ".join(f"{latency[k]:.1f} ({k})" for k in keys)


def _fusion_lines(fusion: dict[str, dict[str, Any]]) -> list[str]:
    """Each fused system's weight and the dev curve it was chosen on."""
    if not fusion:
        return []
    lines = ["| fused with bm25: z(model) + w * z(bm25) | w | dev nDCG@10 by w |", "|---|---|---|"]
    for system, choice in fusion.items():
        curve = ", ".join(f"{w}: {v:.4f}" for w, v in choice["dev_curve"].items())
        lines.append(
            f"| {system} | {choice['weight']:g} | {curve} ({choice['dev_queries']} dev queries) |"
        )
    return [*lines, ""]


def _cost_lines(cost: dict[str, dict[str, Any]], latency: dict[str, float]) -> list[str]:
    """Teacher, student and dense baselines side by side: per-query latency and model size."""
    if not cost:
        return []
    lines = ["| model | ms/query (what was timed) | parameters | MB on disk |", "|---|---|---|---|"]
    for role, size in cost.items():
        note = (
            f" (query route; documents: {size['document_route']})"
            if size.get("document_route")
            else ""
        )
        lines.append(
            f"| {role}{note} | {_latency_of(role, latency) or '-'} | {size['parameters'] / 1e6:.1f} M | {size['megabytes']:.1f} |"
        )
    return lines + [""]


def _prior_lines(
    config: Any, outcomes: list[StageOutcome], name: str, systems: dict[str, Any]
) -> list[str]:
    """Each system's nDCG@10 on the evaluated queries of the training dataset split by whether a
    relevant document was a judged training positive (rankdistill/evaluation/prior.py); only for
    runs whose training read judgements (a label-free run has no judged positive to compare)."""
    mine = next((o for o in outcomes if o.name == "mine"), None)
    if (
        mine is None
        or config.mine.queries not in ("split", "both")
        or name
        != colliding_names(config.evaluate.datasets).get(config.dataset, Path(config.dataset).name)
    ):
        return []
    from rankdistill.data.open import open_dataset
    from rankdistill.data.query_sources import restrict_to_half
    from rankdistill.evaluation.prior import group_means, prior_split
    from rankdistill.mining.records import read_training_set

    positives = {
        p.doc_id
        for r in read_training_set(mine.folder / "train.jsonl")
        for p in r.positives
        if not p.relabelled
    }
    evaluated = restrict_to_half(
        open_dataset(config.dataset, config.evaluate.split, config.data_root),
        config.evaluate.query_half,
    )
    groups = prior_split(
        positives, evaluated.qrels, list(next(iter(systems.values()))["per_query"])
    )
    head = " | ".join(f"{group} ({len(ids)} queries)" for group, ids in groups.items())
    lines = [
        "### The document prior",
        "",
        "Training read judgements. A student that only learned which documents tend to be relevant gains on the first "
        "group alone (rankdistill/evaluation/prior.py).",
        "",
        f"| system | {head} |",
        "|---|---|---|",
    ]
    for system, data in systems.items():
        means = group_means(data["per_query"], groups, MAIN_METRIC)
        lines.append(
            f"| {system} | "
            + " | ".join("-" if v is None else f"{v:.4f}" for v in means.values())
            + " |"
        )
    return lines + [""]


def _hardware_lines(hardware: dict[str, Any]) -> list[str]:
    lines = [
        "## Hardware and precision",
        "",
        f"Device {hardware['device']}, CPU capability {hardware['cpu_capability']}, {hardware['threads']} threads.",
        "",
        "| config field | precision (why) |",
        "|---|---|",
    ]
    return (
        lines
        + [f"| `{field}` | {choice} |" for field, choice in hardware["precision"].items()]
        + [""]
    )


def write_report(
    config: Any,
    run_dir: Path,
    outcomes: list[StageOutcome],
    source: str | Path,
    hardware: dict[str, Any] | None = None,
) -> Path:
    evaluate = next(o for o in outcomes if o.name == "evaluate").summary
    card: list[str] = []  # the student's evaluation, for its model card
    lines = [
        f"# rankdistill run `{config.name}`",
        "",
        f"Config: `{source}`. Seed {config.seed}.",
        "",
    ]
    for name, data in evaluate["datasets"].items():
        systems = data["systems"]
        reference = _reference(systems)
        table, _ = _table(systems, reference, config.seed)
        plot = f"{name}-{MAIN_METRIC.replace('@', '')}.png"
        _plot(systems, reference, run_dir / plot, f"{name}/{data['split']}")
        lines += [
            f"## {name} / {data['split']} ({len(next(iter(systems.values()))['per_query'])} queries)",
            "",
            *table,
            "",
        ]
        card += [
            f"{name} / {data['split']}, nDCG@10 and the student's paired tests:",
            "",
            *table,
            "",
        ]
        if reference:
            lines += [
                f"Paired tests on per-query {MAIN_METRIC} (two-sided; randomisation: 10,000 sign flips).",
                "",
            ]
        lines += [f"![{MAIN_METRIC} per system and per-query differences]({plot})", ""]
        lines += _prior_lines(config, outcomes, name, systems)
        lines += _fusion_lines(data.get("fusion") or {})
        if data.get("latency"):
            lines += ["| query latency, 2-core CPU, one query at a time | ms |", "|---|---|"]
            lines += [f"| {k} | {v:.1f} |" for k, v in data["latency"].items()] + [""]
        lines += _cost_lines(evaluate.get("cost") or {}, data.get("latency") or {})
        if data.get("teacher_student_kendall_tau") is not None:
            lines += [
                f"Teacher-student agreement: mean per-query Kendall tau {data['teacher_student_kendall_tau']:.3f} "
                f"over the teacher-reranked candidates.",
                "",
            ]
    if hardware:
        lines += _hardware_lines(hardware)
    lines += [
        "## Stages",
        "",
        "| stage | key | cached | seconds | summary |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        brief = {k: v for k, v in o.summary.items() if k not in ("datasets",)}
        lines.append(
            f"| {o.name} | `{o.key}` | {'yes' if o.cached else 'no'} | {o.seconds:.1f} | {_brief(brief)} |"
        )
    lines += [
        "",
        "## Config",
        "",
        "```yaml",
        yaml.safe_dump(config_dict(config), sort_keys=False).rstrip(),
        "```",
        "",
    ]
    made = provenance()
    lines += [
        "## Versions",
        "",
        f"git commit `{made['git_commit']}`, written {made['created']}.",
        "",
    ]
    lines += [", ".join(f"{k} {v}" for k, v in made["versions"].items()), ""]
    _fill_model_card(config, outcomes, card)
    return atomic_write_text(run_dir / "report.md", "\n".join(lines))


def _fill_model_card(config: Any, outcomes: list[StageOutcome], evaluation: list[str]) -> None:
    """The trained student's model card, with the teacher's members and the evaluation."""
    import json

    from rankdistill.training.model_card import write_model_card
    from rankdistill.training.train import RECORD

    train = next((o for o in outcomes if o.name == "train"), None)
    student = train.folder / "student" if train is not None else None
    if student is None or not (student / RECORD).is_file():
        return
    record = json.loads((student / RECORD).read_text(encoding="utf-8"))
    teacher = [m.teacher for m in config.teacher.members] if config.teacher is not None else None
    write_model_card(student, record, teacher, evaluation)


def _brief(summary: dict[str, Any]) -> str:
    text = ", ".join(f"{k}: {v}" for k, v in summary.items() if not isinstance(v, dict)) or ""
    counts = summary.get("counts")
    if isinstance(counts, dict):
        text += (", " if text else "") + ", ".join(
            f"{k} {v}" for k, v in counts.items() if k in ("records", "negatives", "dropped")
        )
    dev = summary.get("dev")
    if isinstance(dev, dict):
        text += ", dev " + ", ".join(
            f"{k} {v:.4f}" for k, v in dev.items() if "ndcg@10" in k.lower()
        )
    return text.replace("|", "/")

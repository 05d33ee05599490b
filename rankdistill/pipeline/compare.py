"""`rankdistill compare`: systems of several finished runs in one table, each against a reference
system with paired significance on the same queries (how the experiment tables in evaluation/
are made).

    rankdistill compare runs/default runs/scifact-infonce runs/scifact-cprd --reference runs/default

Rows are the systems of each run whose name starts with one of `include` (default: the student),
a system identical query by query to one already listed (a shared baseline) only once; the
reference is `RUN` (its student) or `RUN:SYSTEM`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankdistill.core.errors import UserError
from rankdistill.evaluation.significance import compare, paired_values
from rankdistill.metrics import METRICS
from rankdistill.pipeline.report import MAIN_METRIC


@dataclass
class RunSystems:
    run: str
    dataset: str
    systems: dict[str, Any]  # name -> {"metrics", "per_query", ...}


def load_run(folder: str | Path, dataset: str | None = None) -> RunSystems:
    """The evaluated systems of a finished `rankdistill run` folder."""
    done = Path(folder) / "stages" / "evaluate" / "done.json"
    if not done.is_file():
        raise UserError(f"{folder}: not a finished run (no {done}); run its config first")
    datasets = json.loads(done.read_text(encoding="utf-8"))["summary"]["datasets"]
    name = dataset or next(iter(datasets))
    if name not in datasets:
        raise UserError(f"{folder}: evaluated on {', '.join(datasets)}, not {name}")
    return RunSystems(Path(folder).name, name, datasets[name]["systems"])


def student_system(run: RunSystems) -> str:
    for name in run.systems:
        if (
            name.startswith("student (")
            or name == "student"
            or name.startswith("student rerank of ")
        ):  # a cross-encoder student
            return name
    raise UserError(f"run {run.run} has no student; name the reference system as RUN:SYSTEM")


def compare_runs(
    folders: list[str],
    reference: str | None = None,
    include: tuple[str, ...] = ("student",),
    dataset: str | None = None,
    seed: int = 13,
) -> str:
    """The markdown table described above."""
    runs = [load_run(f, dataset) for f in folders]
    ref_folder, _, ref_system = (reference or folders[0]).partition(":")
    ref_run = load_run(ref_folder, dataset or runs[0].dataset)
    ref_system = ref_system or student_system(ref_run)
    if ref_system not in ref_run.systems:
        raise UserError(
            f"{ref_folder}: no system {ref_system!r} (has: {', '.join(ref_run.systems)})"
        )
    ref_per_query = ref_run.systems[ref_system]["per_query"]
    head = [
        "run",
        "system",
        *METRICS,
        f"vs {ref_run.run}: {ref_system} ({MAIN_METRIC})",
        "wins / losses / ties",
        "randomisation p",
    ]
    lines = [
        f"{ref_run.dataset}, reference {ref_run.run}: {ref_system}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    shown: set[tuple[str, str]] = set()
    for run in runs:
        for name, system in run.systems.items():
            if not name.startswith(include):
                continue
            identity = (name, json.dumps(system["per_query"], sort_keys=True))
            if identity in shown:  # a baseline every run repeats (BM25, the teacher): listed once
                continue
            shown.add(identity)
            row = [run.run, name, *(f"{system['metrics'][m]:.4f}" for m in METRICS)]
            if run.run == ref_run.run and name == ref_system:
                row += ["(reference)", "", ""]
            else:
                x, y = paired_values(system["per_query"], ref_per_query, MAIN_METRIC)
                c = compare(x, y, seed)
                row += [
                    f"{c['delta']:+.4f}",
                    f"{c['wins']} / {c['losses']} / {c['ties']}",
                    f"{c['randomisation_p']:.3g}",
                ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)

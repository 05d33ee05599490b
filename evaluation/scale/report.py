"""Cost curves of the scale benchmark: a markdown table, growth exponents and a log-log plot.

    python evaluation/scale/report.py RESULTS.jsonl [--plot evaluation/figures/scale.png]

What: for each stage and size in RESULTS.jsonl (stage.py's records, status "ok"; the last record
of a (stage, size) wins), the wall time of the stage's work and the peak RSS, and per stage the
growth exponent b of cost ~ size^b: the least-squares slope of log(cost) on log(size) over the
sizes measured, for the time, the absolute peak RSS and the peak over the post-import baseline
(the absolute peak includes a fixed cost of imports, which flattens its slope at small sizes).
A stage not measured at the largest corpus size (encode) gets its time there extrapolated with
its exponent (linear when it has one size only). The plot has two panels, time and peak RSS,
one line a stage; the store's x is its pair count. Why: the issue asks which stage stops scaling
first between 10k and 1M+ documents, and the exponent says it with one number.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PLOT = REPO / "evaluation" / "figures" / "scale.png"

Record = dict[str, Any]


def read_results(path: Path) -> dict[str, list[Record]]:
    """{stage: its ok records by size}, the last record of each (stage, size) kept."""
    latest: dict[tuple[str, int], Record] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("status") == "ok":
                latest[(record["stage"], int(record["size"]))] = record
    stages: dict[str, list[Record]] = {}
    for (stage, _), record in sorted(latest.items(), key=lambda item: item[0][1]):
        stages.setdefault(stage, []).append(record)
    return stages


def growth_exponent(sizes: Sequence[float], values: Sequence[float]) -> float | None:
    """The slope of log(value) on log(size) by least squares; None without two distinct sizes
    or with a value that is not positive."""
    if len(set(sizes)) < 2 or any(not value > 0 for value in values):
        return None
    slope, _ = np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float)), 1)
    return float(slope)


def exponents(records: list[Record]) -> dict[str, float | None]:
    sizes = [record["size"] for record in records]
    return {
        "time": growth_exponent(sizes, [r["wall_s"] for r in records]),
        "peak": growth_exponent(sizes, [r["peak_rss_gb"] for r in records]),
        "over": growth_exponent(sizes, [r["peak_rss_over_baseline_gb"] for r in records]),
    }


def short_size(size: int) -> str:
    for divisor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if size >= divisor and size % (divisor // 10) == 0:
            return f"{size / divisor:g}{suffix}"
    return str(size)


def cell(record: Record | None) -> str:
    if record is None:
        return ""
    return f"{record['wall_s']:.3g} s / {record['peak_rss_gb']:.3g} GB"


def exponent_text(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table(stages: dict[str, list[Record]]) -> str:
    """Markdown: a row a stage, a column a size (wall s / peak RSS GB), then the exponents."""
    sizes = sorted({record["size"] for records in stages.values() for record in records})
    header = ["stage", "unit", *(short_size(size) for size in sizes)]
    header += ["b time", "b peak RSS", "b RSS over baseline"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for stage, records in stages.items():
        by_size = {record["size"]: record for record in records}
        fitted = exponents(records)
        row = [stage, records[0]["unit"], *(cell(by_size.get(size)) for size in sizes)]
        row += [exponent_text(fitted[key]) for key in ("time", "peak", "over")]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def extrapolations(stages: dict[str, list[Record]]) -> list[str]:
    """Lines giving the time at the largest corpus size of each documents stage measured only
    below it: t_last * (target / size_last) ** b, b its time exponent (1 with one size)."""
    document_sizes = [
        record["size"]
        for records in stages.values()
        for record in records
        if record["unit"] == "documents"
    ]
    if not document_sizes:
        return []
    target = max(document_sizes)
    lines = []
    for stage, records in stages.items():
        last = records[-1]
        if last["unit"] != "documents" or last["size"] >= target:
            continue
        fitted = exponents(records)["time"]
        slope = 1.0 if fitted is None else fitted
        seconds = last["wall_s"] * (target / last["size"]) ** slope
        how = "linearly" if fitted is None else f"with b = {slope:.2f}"
        lines.append(
            f"{stage}: {seconds:,.0f} s ({seconds / 3600:.1f} h) at {short_size(target)} documents, "
            f"extrapolated {how} from {short_size(last['size'])}"
        )
    return lines


def machine(stages: dict[str, list[Record]]) -> str:
    records = [record for records in stages.values() for record in records]
    cpus = sorted({f"{r['cpu']['model']} ({r['cpu']['cpus']} cores)" for r in records})
    commits = sorted({(r.get("commit") or "?")[:10] for r in records})
    dirty = any(r.get("rankdistill_changes") for r in records)
    return f"CPU: {', '.join(cpus)}; commit {', '.join(commits)}" + (
        "; with uncommitted changes under rankdistill/" if dirty else ""
    )


def plot(stages: dict[str, list[Record]], path: Path) -> Path:
    """Two log-log panels, wall time and peak RSS (solid: absolute, dashed: over the baseline)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, rss_axis) = plt.subplots(1, 2, figsize=(12, 4.8))
    for index, (stage, records) in enumerate(stages.items()):
        color = f"C{index % 10}"
        sizes = [record["size"] for record in records]
        fitted = exponents(records)
        label = stage + (" (x = pairs)" if records[0]["unit"] == "pairs" else "")
        time_label = f"{label}, b={exponent_text(fitted['time']) or '?'}"
        time_axis.plot(sizes, [r["wall_s"] for r in records], "o-", color=color, label=time_label)
        rss_axis.plot(sizes, [r["peak_rss_gb"] for r in records], "o-", color=color, label=label)
        over = [max(r["peak_rss_over_baseline_gb"], 1e-4) for r in records]
        rss_axis.plot(sizes, over, "x--", color=color, alpha=0.6)
    time_axis.set(title="wall time of the stage's work", ylabel="seconds")
    rss_axis.set(title="peak RSS (dashed: over the post-import baseline)", ylabel="GB")
    for axis in (time_axis, rss_axis):
        axis.set(xscale="log", yscale="log", xlabel="documents (store: pairs)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(machine(stages), fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    stages = read_results(args.results)
    if not stages:
        raise SystemExit(f"{args.results}: no records with status ok")
    print(table(stages))
    print()
    print(machine(stages))
    for line in extrapolations(stages):
        print(line)
    if not args.no_plot:
        print(f"plot: {plot(stages, args.plot)}")


if __name__ == "__main__":
    main()

"""Every figure the README and the docs quote has the per-query metrics files behind it.

evaluation/results/quoted.yaml lists each quoted figure with the metrics.json files (the
`per_query` block `rankdistill evaluate` writes) that produce it: the mean over a file's queries
of `metric`, then the mean over its files (seeds), rounded as quoted; `sd`, when given, is the
sample standard deviation over the files. This script checks three things, and
tests/test_quoted_figures.py runs it:

- every entry's files exist and give its value (and sd);
- every figure (a bare 0.dddd, not a difference, a p-value or an sd) in README.md and docs/*.md
  is an entry's value;
- every entry is still quoted somewhere (no stale entries).

    python evaluation/quoted_figures.py           # the check
    python evaluation/quoted_figures.py --table   # every quoted figure recomputed from its files,
                                                  # as evaluation/results/quoted.md
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "evaluation" / "results" / "quoted.yaml"
# a quoted level: 0.dddd not after a sign, "+-", "p " or another digit (differences, p-values and
# standard deviations are not levels; they are derived from the levels' files)
FIGURE = re.compile(r"(?<![-+±\d.])(?<!p )(?<!\+- )\b0\.\d{4}\b")


def quoting_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def quoted(path: Path) -> set[str]:
    return set(FIGURE.findall(path.read_text(encoding="utf-8")))


def file_mean(path: Path, metric: str) -> float:
    per_query = json.loads(path.read_text(encoding="utf-8"))["per_query"]
    return statistics.fmean(values[metric] for values in per_query.values())


def entry_problems(entry: dict) -> list[str]:
    value, metric = f"{float(entry['value']):.4f}", entry.get("metric", "nDCG@10")
    files = [REPO / f for f in entry["files"]]
    missing = [name for name, f in zip(entry["files"], files, strict=True) if not f.is_file()]
    if missing:
        return [f"{value}: no file {', '.join(missing)}"]
    means = [file_mean(f, metric) for f in files]
    problems = []
    if f"{statistics.fmean(means):.4f}" != value:
        problems.append(f"{value}: its files give {statistics.fmean(means):.4f} ({metric})")
    if "sd" in entry:
        sd = statistics.stdev(means) if len(means) > 1 else 0.0
        if f"{sd:.4f}" != f"{float(entry['sd']):.4f}":
            problems.append(f"{value}: sd {float(entry['sd']):.4f} quoted, its files give {sd:.4f}")
    return problems


def problems() -> list[str]:
    entries = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["figures"]
    found = [p for entry in entries for p in entry_problems(entry)]
    registered = {f"{float(entry['value']):.4f}" for entry in entries}
    quoted_anywhere: set[str] = set()
    for path in quoting_files():
        figures = quoted(path)
        quoted_anywhere |= figures
        found += [
            f"{path.relative_to(REPO)}: {figure} has no entry in {REGISTRY.relative_to(REPO)}"
            for figure in sorted(figures - registered)
        ]
    found += [
        f"{REGISTRY.relative_to(REPO)}: {value} is quoted nowhere any more"
        for value in sorted(registered - quoted_anywhere)
    ]
    return found


def table() -> str:
    """Every registered figure, recomputed from its files: the table evaluation/results/quoted.md."""
    entries = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["figures"]
    lines = [
        "# Every figure the README and the docs quote, recomputed from its per-query files",
        "",
        "Written by `python evaluation/quoted_figures.py --table` from evaluation/results/quoted.yaml.",
        "",
        "| quoted | recomputed | sd over files | metric | queries | files |",
        "|---|---|---|---|---|---|",
    ]
    for entry in entries:
        metric = entry.get("metric", "nDCG@10")
        files = [REPO / f for f in entry["files"]]
        means = [file_mean(f, metric) for f in files]
        queries = len(json.loads(files[0].read_text(encoding="utf-8"))["per_query"])
        sd = f"{statistics.stdev(means):.4f}" if len(means) > 1 else ""
        lines.append(
            f"| {float(entry['value']):.4f} | {statistics.fmean(means):.4f} | {sd} | {metric} | "
            f"{queries} | {', '.join(entry['files'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    if "--table" in sys.argv[1:]:
        out = REPO / "evaluation" / "results" / "quoted.md"
        out.write_text(table(), encoding="utf-8")
        print(f"wrote {out.relative_to(REPO)}")
        return 0
    found = problems()
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

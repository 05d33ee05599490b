"""Diagnostics a person reads before trusting a teacher: score histograms, per-query spread, and
agreement between teachers (Kendall tau over each query's candidate list).

Input everywhere: {teacher name: {query id: scores of that query's candidates}}, every teacher
scoring the same candidates in the same order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from rankdistill.core.atomic import atomic_write, atomic_write_json, atomic_write_text

ScoreLists = dict[str, dict[str, np.ndarray]]


def spread(lists: dict[str, np.ndarray]) -> dict[str, float]:
    """Medians over queries of each list's std, range (max - min) and top-1 minus top-2 gap:
    a teacher whose lists are flat says little about the order it distils."""
    stds, ranges, gaps = [], [], []
    for scores in lists.values():
        if len(scores) < 2:
            continue
        top = np.sort(scores)[::-1]
        stds.append(float(scores.std()))
        ranges.append(float(top[0] - top[-1]))
        gaps.append(float(top[0] - top[1]))
    median = lambda values: float(np.median(values)) if values else float("nan")  # noqa: E731
    return {
        "queries": len(stds),
        "median_std": median(stds),
        "median_range": median(ranges),
        "median_top_gap": median(gaps),
    }


def mean_kendall_tau(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Mean over shared queries of Kendall's tau-b between two teachers' scores of one list."""
    taus = []
    for query_id in a.keys() & b.keys():
        if len(a[query_id]) < 2:
            continue
        tau = kendalltau(a[query_id], b[query_id]).statistic
        if np.isfinite(tau):  # a constant list has no order
            taus.append(float(tau))
    return float(np.mean(taus)) if taus else float("nan")


def agreement(scores: ScoreLists) -> dict[str, dict[str, float]]:
    names = list(scores)
    return {
        a: {b: 1.0 if a == b else mean_kendall_tau(scores[a], scores[b]) for b in names}
        for a in names
    }


def plot_histograms(scores: ScoreLists, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(scores), figsize=(4.2 * len(scores), 3.2), squeeze=False)
    for axis, (name, lists) in zip(axes[0], scores.items()):
        values = np.concatenate(list(lists.values())) if lists else np.zeros(0)
        axis.hist(values, bins=50, color="#3b6ea5")
        axis.set_title(_short(name), fontsize=9)
        axis.set_xlabel("raw score")
    axes[0][0].set_ylabel("pairs")
    figure.tight_layout()
    atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=110), binary=True)
    plt.close(figure)
    return path


def write_diagnostics(
    scores: ScoreLists, folder: str | Path, title: str = "Teacher diagnostics"
) -> Path:
    """`folder/diagnostics.md` (+ .json, histograms.png); returns the markdown path."""
    folder = Path(folder)
    spreads = {name: spread(lists) for name, lists in scores.items()}
    taus = agreement(scores)
    plot_histograms(scores, folder / "histograms.png")
    atomic_write_json(folder / "diagnostics.json", {"spread": spreads, "kendall_tau": taus})
    pairs = sum(len(v) for v in next(iter(scores.values())).values()) if scores else 0
    lines = [
        f"# {title}",
        "",
        f"{pairs} pairs per teacher.",
        "",
        "## Per-query spread (medians over queries)",
        "",
    ]
    lines += ["| teacher | queries | std | max - min | top-1 - top-2 |", "|---|---|---|---|---|"]
    for name, s in spreads.items():
        lines.append(
            f"| {_short(name)} | {s['queries']} | {s['median_std']:.3f} | {s['median_range']:.3f} | {s['median_top_gap']:.3f} |"
        )
    names = list(scores)
    lines += [
        "",
        "## Agreement: mean per-query Kendall tau",
        "",
        "| | " + " | ".join(_short(n) for n in names) + " |",
    ]
    lines.append("|---|" + "---|" * len(names))
    for a in names:
        lines.append(f"| {_short(a)} | " + " | ".join(f"{taus[a][b]:.3f}" for b in names) + " |")
    lines += ["", "![score histograms](histograms.png)", ""]
    return atomic_write_text(folder / "diagnostics.md", "\n".join(lines))


def _short(name: str) -> str:
    return name if len(name) <= 40 else "..." + name[-37:]

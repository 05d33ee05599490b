"""`rankdistill index bench`: build each spec once over the same vectors, then per search
setting measure QPS (one batch of all queries, and one query at a time), recall@k against exact
search on the same queries, bytes per vector and build time; optionally nDCG@10 with the
dataset's judgements. Exact search (faiss Flat for dense vectors, scipy CSR products for sparse
ones) is measured in the same run and is the anchor every ratio refers to.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.core.atomic import atomic_write
from rankdistill.core.errors import UserError
from rankdistill.indexes.spec import IndexSpec, check_factory, format_params, parse_params
from rankdistill.indexes.structures import Structure, build_structure
from rankdistill.retrieval.encode import Chunks, Vectors

log = logging.getLogger(__name__)

Judge = Callable[[np.ndarray, np.ndarray], float]  # (scores, row indices) -> nDCG@10


@dataclass
class BenchRow:
    spec: str
    build: str
    params: dict[str, float]
    anchor: bool
    build_s: float
    code_bytes_per_vector: int
    index_bytes_per_vector: float
    rescore_bytes_per_vector: float
    recall: float
    qps_batch: float
    qps_single: float
    batch_rounds_s: list[float] = field(default_factory=list)
    single_rounds_s: list[float] = field(default_factory=list)
    ndcg_at_10: float | None = None


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean over queries of |found top-k ∩ exact top-k| / |exact top-k| (queries whose exact
    search finds nothing are left out)."""
    values = []
    for got, want in zip(found[:, :k], truth[:, :k]):
        want = set(want[want >= 0].tolist())
        if want:
            values.append(len(want & set(got[got >= 0].tolist())) / len(want))
    return float(np.mean(values)) if values else float("nan")


def measure(
    structure: Structure, queries: Vectors, k: int, rounds: int, single: int
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Batch QPS (median of `rounds` searches of every query at once) and single-query QPS
    (median of `rounds` passes over the first `single` queries, one call each), after one
    warm-up call."""
    structure.search(queries[:8], k)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        scores, indices = structure.search(queries, k)
        times.append(time.perf_counter() - started)
    count = min(single, queries.shape[0])
    single_times = []
    for _ in range(rounds if count else 0):
        started = time.perf_counter()
        for row in range(count):
            structure.search(queries[row : row + 1], k)
        single_times.append(time.perf_counter() - started)
    stats = {
        "qps_batch": queries.shape[0] / statistics.median(times),
        "qps_single": count / statistics.median(single_times) if count else float("nan"),
        "batch_rounds_s": [round(t, 4) for t in times],
        "single_rounds_s": [round(t, 4) for t in single_times],
    }
    return stats, scores, indices


def _anchor(sparse: bool, chunks: Chunks, dimension: int) -> tuple[Structure, float]:
    started = time.perf_counter()
    if sparse:
        from rankdistill.indexes.inverted import ExactSparseStructure

        structure: Structure = ExactSparseStructure(chunks.stack())
    else:
        structure, _ = build_structure(IndexSpec("Flat", "faiss", {}), chunks, dimension)
    return structure, time.perf_counter() - started


def run_bench(
    chunks: Chunks,
    queries: Vectors,
    specs: list[IndexSpec],
    dimension: int,
    k: int = 10,
    train_size: int = 100_000,
    seed: int = 13,
    rounds: int = 3,
    single: int = 200,
    judge: Judge | None = None,
    report: Callable[[str], None] = print,
) -> list[BenchRow]:
    """One row for exact search, then one per spec (specs sharing a build share one build)."""
    sparse = chunks.sparse
    for spec in specs:
        if spec.is_sparse != sparse:
            raise UserError(
                f"index spec {spec.text!r} is for {'sparse' if spec.is_sparse else 'dense'} vectors; these are {'sparse' if sparse else 'dense'}"
            )
        check_factory(spec, dimension)
    count = chunks.count()

    def row(
        structure: Structure,
        spec_text: str,
        build: str,
        anchor: bool,
        build_s: float,
        sizes: dict[str, int],
        truth: np.ndarray | None,
    ) -> tuple[BenchRow, np.ndarray]:
        stats, scores, indices = measure(structure, queries, k, rounds, single)
        result = BenchRow(
            spec=spec_text,
            build=build,
            params=structure.effective_params(),
            anchor=anchor,
            build_s=round(build_s, 3),
            code_bytes_per_vector=sizes["code"],
            index_bytes_per_vector=sizes["index"] / count,
            rescore_bytes_per_vector=sizes["rescore"] / count,
            recall=1.0 if truth is None else recall_at(indices, truth, k),
            ndcg_at_10=judge(scores, indices) if judge else None,
            **stats,
        )
        report(
            f"{spec_text:40} recall@{k} {result.recall:.4f}  QPS batch {result.qps_batch:10.1f}  single {result.qps_single:9.1f}"
            + (f"  nDCG@10 {result.ndcg_at_10:.4f}" if result.ndcg_at_10 is not None else "")
        )
        return result, indices

    anchor, anchor_s = _anchor(sparse, chunks, dimension)
    anchor_name = "exact (CSR)" if sparse else "Flat (exact)"
    first, truth = row(
        anchor,
        anchor_name,
        "exact-sparse" if sparse else "Flat",
        True,
        anchor_s,
        anchor.sizes(),
        None,
    )
    rows = [first]
    del anchor
    builds: dict[str, list[IndexSpec]] = {}
    for spec in specs:
        builds.setdefault(spec.build_key, []).append(spec)
    for build, variants in builds.items():
        report(f"building {build} over {count} vectors ...")
        structure, timings = build_structure(variants[0], chunks, dimension, train_size, seed)
        build_s = timings.get("train_s", 0.0) + timings.get("add_s", 0.0)
        sizes = structure.sizes()
        for spec in variants:
            structure.set_params(spec.params)
            rows.append(row(structure, spec.text, build, False, build_s, sizes, truth)[0])
        del structure
    return rows


def format_table(rows: list[BenchRow], k: int = 10) -> str:
    anchor = next(r for r in rows if r.anchor)
    judged = any(r.ndcg_at_10 is not None for r in rows)
    header = [
        "spec",
        "build s",
        "code B/vec",
        "index B/vec",
        "+rescore B/vec",
        f"recall@{k}",
        "QPS batch",
        "x exact",
        "QPS 1-query",
        "x exact",
    ]
    if judged:
        header += ["nDCG@10", "kept"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [
            r.spec,
            f"{r.build_s:.1f}",
            str(r.code_bytes_per_vector) if r.code_bytes_per_vector else "-",
            f"{r.index_bytes_per_vector:.1f}",
            f"{r.rescore_bytes_per_vector:.0f}" if r.rescore_bytes_per_vector else "-",
            f"{r.recall:.4f}",
            f"{r.qps_batch:.0f}",
            f"{r.qps_batch / anchor.qps_batch:.2f}",
            f"{r.qps_single:.0f}",
            f"{r.qps_single / anchor.qps_single:.2f}",
        ]
        if judged:
            cells += [
                f"{r.ndcg_at_10:.4f}",
                f"{r.ndcg_at_10 / anchor.ndcg_at_10:.4f}" if anchor.ndcg_at_10 else "-",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[BenchRow], path: Path, title: str, k: int = 10) -> Path:
    """Recall@k against QPS (log scale), batch and single-query side by side; one line per
    build, its points in sweep order."""
    import textwrap

    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    builds: dict[str, list[BenchRow]] = {}
    for r in rows:
        builds.setdefault(r.spec if r.anchor else r.build, []).append(r)
    for axis, key, label in (
        (axes[0], "qps_batch", "QPS, all queries in one batch"),
        (axes[1], "qps_single", "QPS, one query per call"),
    ):
        for name, group in builds.items():
            anchor = group[0].anchor
            axis.plot(
                [getattr(r, key) for r in group],
                [r.recall for r in group],
                marker="*" if anchor else "o",
                markersize=14 if anchor else 5,
                label=name,
            )
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel(label)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"recall@{k} vs exact search")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="center right", fontsize=8)
    figure.suptitle(textwrap.fill(title, 120), fontsize=9)
    figure.tight_layout(rect=(0, 0, 0.84, 1))
    atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=110), binary=True)
    plt.close(figure)
    return path


def rows_json(rows: list[BenchRow]) -> list[dict[str, Any]]:
    return [{**asdict(r), "params": format_params(r.params)} for r in rows]


def rows_from_json(records: list[dict[str, Any]]) -> list[BenchRow]:
    """BenchRows back from bench.json (to redraw a plot or a table without measuring again)."""
    return [BenchRow(**{**r, "params": parse_params(r["params"])}) for r in records]


def write_report(
    rows: list[BenchRow],
    output: Path,
    description: str,
    settings: dict[str, Any],
    command: str,
    k: int = 10,
) -> str:
    """`output/bench.md` (command, inputs, table), `bench.json` (every row, settings,
    provenance) and `recall_qps.png`; returns the table."""
    from rankdistill.core.atomic import atomic_write_json, atomic_write_text
    from rankdistill.core.provenance import provenance

    table = format_table(rows, k)
    atomic_write_text(output / "bench.md", f"    {command}\n\n{description}\n\n{table}\n")
    atomic_write_json(
        output / "bench.json",
        {
            "command": command,
            "inputs": description,
            "settings": settings,
            "rows": rows_json(rows),
            "provenance": provenance(),
        },
    )
    plot(rows, output / "recall_qps.png", description, k)
    return table

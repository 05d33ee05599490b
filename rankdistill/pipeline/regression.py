"""Regression configs (pyserini's two-click reproductions): a run config plus the scores it must
reproduce.

    # configs/regressions/scifact-bm25.yaml
    name: regression-scifact-bm25
    evaluate: {datasets: [scifact], split: test, retrievers: [bm25]}
    expected:                      # dataset -> system -> metric -> score
      scifact:
        bm25: {nDCG@10: 0.6863, R@100: 0.9127}
    tolerance: 0.002               # absolute, per metric

`rankdistill regress FILE...` runs each (cached stages make reruns cheap), prints a pass/fail
table and exits 1 if any score is off by more than the tolerance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from rankdistill.core.config import compose_yaml, node_line
from rankdistill.core.errors import InputError


@dataclass
class Check:
    dataset: str
    system: str
    metric: str
    expected: float
    got: float | None
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.got is not None and abs(self.got - self.expected) <= self.tolerance


def read_expectations(path: str | Path) -> tuple[dict[str, dict[str, dict[str, float]]], float]:
    """The `expected` mapping and `tolerance` of a regression config, checked for shape."""
    path = Path(path)
    root = compose_yaml(path)
    nodes = {key.value: (key, value) for key, value in getattr(root, "value", [])}
    if "expected" not in nodes:
        raise InputError(
            path,
            "a regression config needs an 'expected' section (dataset -> system -> metric -> score)",
            field="expected",
        )
    key, node = nodes["expected"]
    expected = yaml.safe_load(yaml.serialize(node))
    ok = (
        isinstance(expected, dict)
        and expected
        and all(
            isinstance(systems, dict)
            and all(
                isinstance(m, dict) and all(isinstance(v, (int, float)) for v in m.values())
                for m in systems.values()
            )
            for systems in expected.values()
        )
    )
    if not ok:
        raise InputError(
            path, "expected: dataset -> system -> metric -> number", node_line(node), "expected"
        )
    tolerance = 0.002
    if "tolerance" in nodes:
        tolerance = yaml.safe_load(yaml.serialize(nodes["tolerance"][1]))
        if not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise InputError(
                path, "must be a number >= 0", node_line(nodes["tolerance"][1]), "tolerance"
            )
    return expected, float(tolerance)


def run_regression(path: str | Path) -> list[Check]:
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.run import run_pipeline

    expected, tolerance = read_expectations(path)
    config = load_pipeline_config(path)
    run_pipeline(config, path)
    summary = json.loads(
        (config.run_dir() / "stages" / "evaluate" / "done.json").read_text(encoding="utf-8")
    )["summary"]
    checks = []
    for dataset, systems in expected.items():
        for system, metrics in systems.items():
            found = (
                summary["datasets"]
                .get(dataset, {})
                .get("systems", {})
                .get(system, {})
                .get("metrics", {})
            )
            for metric, value in metrics.items():
                checks.append(
                    Check(dataset, system, metric, float(value), found.get(metric), tolerance)
                )
    return checks


def format_checks(path: str | Path, checks: list[Check]) -> str:
    lines = [
        f"{path}",
        "| dataset | system | metric | expected | got | tolerance | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        got = "missing" if c.got is None else f"{c.got:.4f}"
        lines.append(
            f"| {c.dataset} | {c.system} | {c.metric} | {c.expected:.4f} | {got} | {c.tolerance:g} | {'PASS' if c.passed else 'FAIL'} |"
        )
    return "\n".join(lines)

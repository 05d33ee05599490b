"""Every figure README.md and docs/ quote has its per-query files in evaluation/results/ and
equals what they give (evaluation/quoted_figures.py; the registry is
evaluation/results/quoted.yaml)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_checker():
    spec = importlib.util.spec_from_file_location(
        "quoted_figures", REPO / "evaluation" / "quoted_figures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_quoted_figure_has_its_files_and_equals_them() -> None:
    assert load_checker().problems() == []


def test_the_check_bites_on_a_wrong_or_unbacked_figure(tmp_path: Path) -> None:
    checker = load_checker()
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"per_query": {"a": {"nDCG@10": 0.5}, "b": {"nDCG@10": 0.7}}}))
    files = [str(metrics)]  # an absolute path stays itself under the repository root
    assert checker.entry_problems({"value": 0.6, "files": files}) == []
    assert checker.entry_problems({"value": 0.6100, "files": files}) == [
        "0.6100: its files give 0.6000 (nDCG@10)"
    ]
    assert checker.entry_problems({"value": 0.6, "sd": 0.01, "files": files * 2}) == [
        "0.6000: sd 0.0100 quoted, its files give 0.0000"
    ]
    assert "no file" in checker.entry_problems({"value": 0.6, "files": ["nope.json"]})[0]
    figures = checker.FIGURE.findall("0.7190 (+0.0540, p 0.0001; 0.6985 +- 0.0017), -0.0074")
    assert figures == ["0.7190", "0.6985"]

"""Config loading: defaults, types, and errors located by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankdistill.config import load_config
from rankdistill.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def test_every_committed_config_loads() -> None:
    """Run configs (configs/*.yaml, configs/regressions/), student-training configs
    (configs/train-*.yaml) and ensemble teachers (configs/teachers/) all load and validate."""
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.teachers.ensemble_config import load_ensemble_config
    from rankdistill.training.config import load_train_config

    configs = sorted((REPO / "configs").rglob("*.yaml"))
    assert configs, "configs/ holds no YAML files"
    for path in configs:
        if path.parent.name == "teachers":
            assert load_ensemble_config(path).members
        elif path.name.startswith("train-"):
            assert load_train_config(path).loss
        else:
            assert load_pipeline_config(path).evaluate.retrievers


def test_defaults_fill_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\n")
    config = load_config(path)
    assert config.evaluate.datasets == ["scifact"] and config.evaluate.k == 100 and config.evaluate.split is None


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("name: x\nseed: many\n", 2, "seed", "expected a int"),
        ("evaluate:\n  k: [1]\n", 2, "evaluate.k", "expected a int"),
        ("evaluate:\n  datasets: scifact\n", 2, "evaluate.datasets", "expected a list"),
        ("name: x\nname: y\n", 2, "name", "given twice"),
        ("evaluate:\n  datasets: []\n", 2, "evaluate.datasets", "at least one item"),
        ("evaluate:\n  k: 0\n", 2, "evaluate.k", "must be >= 1"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, line: int | None, field: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_config(path)
    assert (error.value.line, error.value.field) == (line, field)
    assert message in str(error.value)


def test_invalid_yaml_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nevaluate: [unclosed\n")
    with pytest.raises(InputError, match="invalid YAML") as error:
        load_config(path)
    assert error.value.line is not None

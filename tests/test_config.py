"""Config loading: defaults, types, and errors located by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankdistill.core.config import load_config
from rankdistill.core.errors import InputError

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
    assert (
        config.evaluate.datasets == ["scifact"]
        and config.evaluate.k == 100
        and config.evaluate.split is None
    )


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
def test_config_errors(
    tmp_path: Path, text: str, line: int | None, field: str, message: str
) -> None:
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


def test_extends_merges_mappings_and_replaces_the_rest(tmp_path: Path) -> None:
    """A config that `extends` a base states only its difference: nested mappings merge key by
    key, lists and values replace, and the base file is left as it was."""
    from rankdistill.pipeline.config import load_pipeline_config

    base = REPO / "configs" / "default.yaml"
    child = tmp_path / "child.yaml"
    child.write_text(
        f"extends: {base}\nname: child\ntrain:\n  trainer: {{epochs: 3}}\nevaluate:\n  datasets: [scifact, nfcorpus]\n"
    )
    parent, config = load_pipeline_config(base), load_pipeline_config(child)
    assert config.name == "child" and config.train.trainer.epochs == 3
    assert config.evaluate.datasets == ["scifact", "nfcorpus"]
    # everything the child does not name comes from the base, nested fields included
    assert config.train.trainer.learning_rate == parent.train.trainer.learning_rate
    assert (
        config.train.trainer.gradient_checkpointing == parent.train.trainer.gradient_checkpointing
    )
    assert config.train.loss == parent.train.loss and config.mine == parent.mine
    assert config.evaluate.retrievers == parent.evaluate.retrievers


def test_extends_errors_point_into_the_file_that_holds_the_value(tmp_path: Path) -> None:
    from rankdistill.pipeline.config import load_pipeline_config

    (tmp_path / "base.yaml").write_text("name: base\nevaluate:\n  k: 0\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\n")
    with pytest.raises(InputError) as error:
        load_pipeline_config(tmp_path / "child.yaml")
    assert (
        error.value.path == str(tmp_path / "base.yaml")
        and error.value.line == 3
        and error.value.field == "evaluate.k"
    )

    (tmp_path / "base.yaml").write_text("name: base\nevaluate:\n  k: 10\n")
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nname: child\nevaluate:\n  retreivers: [bm25]\n"
    )
    with pytest.raises(InputError) as error:
        load_pipeline_config(tmp_path / "child.yaml")
    assert (
        error.value.path == str(tmp_path / "child.yaml")
        and error.value.line == 4
        and "unknown key" in str(error.value)
    )


@pytest.mark.parametrize(
    "files, message",
    [
        ({"child.yaml": "extends: missing.yaml\n"}, "base config not found"),
        ({"child.yaml": "extends: [a.yaml]\n"}, "expected one path"),
        (
            {"child.yaml": "extends: loop.yaml\n", "loop.yaml": "extends: child.yaml\n"},
            "extends itself",
        ),
    ],
)
def test_bad_extends(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message) as error:
        load_config(tmp_path / "child.yaml")
    assert error.value.line == 1 and error.value.field == "extends"

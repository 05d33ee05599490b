"""Bad input, class 3: config values of the right type but out of range. Every field's range
is declared once, beside the field (`rankdistill.core.config.checked`), and checked where the YAML is
read, so the error names file, line and field, and `rankdistill run` exits 2 without a traceback
instead of failing later inside the optimizer."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from rankdistill.core.config import EvaluateConfig, RunConfig, check_fields
from rankdistill.core.errors import InputError, UserError
from rankdistill.indexes.build import BuildSettings
from rankdistill.pipeline.config import (
    IndexSection,
    MineSection,
    PipelineConfig,
    TeacherSection,
    load_pipeline_config,
)
from rankdistill.teachers.ensemble_config import EnsembleConfig, MemberConfig
from rankdistill.training.config import (
    DataConfig,
    DevConfig,
    StudentConfig,
    TrainConfig,
    TrainerConfig,
    load_train_config,
)
from rankdistill.training.teacher import TeacherTrainingConfig

RUN = """name: r
dataset: scifact
teacher:
  members:
    - teacher: bm25
      temperature: 1.0
mine: {split: train, depth: 100}
train:
  student: {kind: dense, model: all-MiniLM-L6-v2, matryoshka_dims: [384, 192]}
  loss: listwise_kl
  trainer:
    learning_rate: 2.0e-5
    batch_size: 16
    warmup_ratio: 0.1
  dev: {queries: 10}
index: {spec: Flat, batch_size: 32}
evaluate: {datasets: [scifact], k: 100}
"""


def edited(old: str, new: str) -> str:
    assert old in RUN
    return RUN.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        (
            "learning_rate: 2.0e-5",
            "learning_rate: -1.0e-5",
            12,
            "train.trainer.learning_rate",
            "must be > 0, got -1e-05",
        ),
        (
            "learning_rate: 2.0e-5",
            "learning_rate: .nan",
            12,
            "train.trainer.learning_rate",
            "expected a finite number",
        ),
        ("batch_size: 16", "batch_size: 0", 13, "train.trainer.batch_size", "must be >= 1, got 0"),
        ("warmup_ratio: 0.1", "warmup_ratio: 1.0", 14, "train.trainer.warmup_ratio", "must be < 1"),
        ("[384, 192]", "[384, 0]", 9, "train.student.matryoshka_dims[1]", "must be >= 1, got 0"),
        ("dev: {queries: 10}", "dev: {queries: -1}", 15, "train.dev.queries", "must be >= 0"),
        ("temperature: 1.0", "temperature: 0", 6, "teacher.members[0].temperature", "must be > 0"),
        ("depth: 100}", "depth: 0}", 7, "mine.depth", "must be >= 1"),
        ("batch_size: 32}", "batch_size: -4}", 16, "index.batch_size", "must be >= 1"),
        ("k: 100}", "k: 0}", 17, "evaluate.k", "must be >= 1, got 0"),
        ("datasets: [scifact]", "datasets: []", 17, "evaluate.datasets", "needs at least one item"),
        ("name: r", "name: r\nseed: -3", 2, "seed", "must be >= 0"),
        ("kind: dense", "kind: colbert", 9, "train.student.kind", "expected one of dense, sparse"),
    ],
)
def test_out_of_range_run_config_values_are_located(
    tmp_path: Path, old: str, new: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(edited(old, new))
    with pytest.raises(InputError) as error:
        load_pipeline_config(path)
    assert (error.value.path, error.value.line, error.value.field) == (str(path), line, field)
    assert message in str(error.value)


def test_the_unedited_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(RUN)
    assert load_pipeline_config(path).train.trainer.learning_rate == 2e-5


def test_train_config_file_ranges_are_located(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(
        "data: {dataset: scifact, training_set: t.jsonl}\nloss: listwise_kl\ntrainer:\n  save_steps: 0\n"
    )
    with pytest.raises(InputError) as error:
        load_train_config(path)
    assert (error.value.line, error.value.field) == (4, "trainer.save_steps")


def test_run_with_a_negative_learning_rate_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(edited("learning_rate: 2.0e-5", "learning_rate: -0.001"))
    result = subprocess.run(
        [sys.executable, "-m", "rankdistill.cli", "run", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert (
        f"{path}:12: field 'train.trainer.learning_rate': must be > 0, got -0.001" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_configs_built_in_code_are_checked_by_the_same_declarations() -> None:
    with pytest.raises(UserError, match="learning_rate: must be > 0"):
        check_fields(TeacherTrainingConfig(learning_rate=0.0))
    with pytest.raises(UserError, match=r"members\[0\].calibration: expected one of"):
        check_fields(EnsembleConfig(members=[MemberConfig(teacher="bm25", calibration="softmax")]))
    check_fields(TeacherTrainingConfig())  # every default passes its own check


CONFIG_CLASSES = [
    EvaluateConfig,
    RunConfig,
    PipelineConfig,
    TeacherSection,
    MineSection,
    IndexSection,
    MemberConfig,
    EnsembleConfig,
    TeacherTrainingConfig,
    DataConfig,
    StudentConfig,
    TrainerConfig,
    DevConfig,
    TrainConfig,
    BuildSettings,
]
# Numbers with no range: any finite value means something (a margin on the teacher's scale, an ensemble weight).
UNBOUNDED = {("MineSection", "fn_margin"), ("MemberConfig", "weight")}


@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_every_numeric_config_field_declares_its_range(cls: type) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kinds = set(typing.get_args(hints[f.name])) | {hints[f.name]}
        numeric = kinds & {int, float} or any(
            typing.get_args(k) in ((int,), (float,)) for k in kinds
        )
        if numeric and (cls.__name__, f.name) not in UNBOUNDED:
            check = f.metadata.get("check")
            assert check is not None and (check.ge, check.gt) != (None, None), (
                f"{cls.__name__}.{f.name} has no declared range"
            )
    if cls not in (TeacherSection, EnsembleConfig, MemberConfig):  # these have no default teacher
        check_fields(cls())  # defaults are in range


def numeric_fields(cls: type, prefix: str = "") -> list[tuple[str, type]]:
    """(dotted path, int or float) of every numeric field under `cls`, through nested sections
    (a list of sections through its first item)."""
    found = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = (
            TrainConfig if (cls is PipelineConfig and f.name == "train") else hints[f.name]
        )  # typed Any there
        options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        for option in options:
            if dataclasses.is_dataclass(option):
                found += numeric_fields(option, f"{prefix}{f.name}.")
            elif typing.get_origin(option) is list and dataclasses.is_dataclass(
                typing.get_args(option)[0]
            ):
                found += numeric_fields(typing.get_args(option)[0], f"{prefix}{f.name}[0].")
            elif option in (int, float):
                found.append((f"{prefix}{f.name}", option))
                break
    return found


# the sections of RUN the schema test writes into (others need sections of their own to be valid)
WRITTEN = (
    "seed",
    "mine.",
    "train.trainer.",
    "train.dev.",
    "train.data.",
    "train.student.",
    "index.",
    "evaluate.",
    "teacher.members[0].",
    "rerank_depth",
)
BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e39, 1e300, -1, 0, 2**70, -(2**70)]


def test_every_numeric_field_refuses_nan_inf_and_overflow_at_its_line() -> None:
    """A hypothesis strategy over the config schema: every numeric field of a run config, given
    NaN, infinities, values beyond float32 or int64, negatives and zero, either loads within its
    declared range or is refused as an InputError naming that field; never another exception."""
    import math
    import tempfile

    import yaml
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    fields = [(p, k) for p, k in numeric_fields(PipelineConfig) if p.startswith(WRITTEN)]
    assert len(fields) > 40, len(fields)
    base = yaml.safe_load(RUN)

    @settings(
        max_examples=400, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.sampled_from(fields), st.sampled_from(BAD_NUMBERS))
    def one(field: tuple[str, type], value: float) -> None:
        dotted, kind = field
        config = yaml.safe_load(yaml.safe_dump(base))
        node = config
        parts = dotted.replace("[0]", ".0").split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[parts[-1]] = value
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "run.yaml"
            path.write_text(yaml.safe_dump(config, sort_keys=False))
            try:
                loaded = load_pipeline_config(path)
            except InputError as error:
                assert error.field == dotted and error.line is not None, (dotted, value, str(error))
                return
        assert isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= 3.4e38, (
            dotted,
            value,
        )
        assert kind is float or float(value).is_integer(), (dotted, value)
        assert loaded is not None

    one()

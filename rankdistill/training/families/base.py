"""The student-family protocol, its registry and the one dispatch (`train_student`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rankdistill.core.errors import UserError
from rankdistill.core.plugins import import_submodules
from rankdistill.training.config import StudentConfig, TrainConfig


@dataclass(frozen=True)
class TrainingInputs:
    """What a family may need beside its config; each family reads only its own fields.

    frozen_documents  query-side: the corpus vectors of the starting model (a
                      `training.query_side.FrozenDocuments`); None: encoded here, once, into
                      `encodings`
    encodings         where corpus and teacher encodings are cached and shared between runs
                      (`rankdistill run` passes `<output_dir>/encodings`); None: `<run dir>/encodings`
    precision         the precision of those encodings (`auto`: bf16 where the CPU has it)
    source            the config file, for the student's record
    """

    frozen_documents: Any = None
    encodings: str | Path | None = None
    precision: str = "auto"
    source: str | None = None

    def encodings_root(self, config: TrainConfig) -> Path:
        return Path(self.encodings) if self.encodings else config.run_dir() / "encodings"


class StudentFamily(Protocol):
    """One kind of student: which configs it trains, and how."""

    name: str

    def selects(self, student: StudentConfig) -> bool:
        """Whether `student` is of this family."""
        ...

    def train(self, config: TrainConfig, inputs: TrainingInputs) -> Any:
        """Train and save the student; returns a `TrainResult` (the student folder and record)."""
        ...


FAMILIES: dict[str, StudentFamily] = {}


def register_family(family: StudentFamily) -> StudentFamily:
    """Register a family instance (or a class, instantiated without arguments) under its name."""
    instance = family() if isinstance(family, type) else family
    known = FAMILIES.get(instance.name)
    if known is not None and type(known).__qualname__ != type(instance).__qualname__:
        raise ValueError(f"student family {instance.name!r} is registered already")
    FAMILIES[instance.name] = instance
    return family


def family_for(student: StudentConfig) -> StudentFamily:
    """The one family that selects `student`."""
    import_submodules("rankdistill.training.families")
    chosen = [family for family in FAMILIES.values() if family.selects(student)]
    if len(chosen) != 1:
        names = ", ".join(family.name for family in chosen) or "none"
        raise UserError(
            f"student (kind {student.kind!r}): {len(chosen)} student families select it ({names})"
        )
    return chosen[0]


def with_records(config: TrainConfig, records: Sequence[Any]) -> TrainConfig:
    """`config` training on `records`, written to `<run dir>/train.jsonl` (atomically, with its
    sidecar, as mining writes them)."""
    from rankdistill.mining.records import write_training_set

    if config.data.training_set:
        raise UserError(
            "train_student: give the training records or data.training_set, not both "
            f"(data.training_set: {config.data.training_set})"
        )
    path = write_training_set(
        config.run_dir() / "train.jsonl",
        list(records),
        {"config": {"source": "records given to train_student"}},
    )
    return dataclasses.replace(
        config, data=dataclasses.replace(config.data, training_set=str(path))
    )


def train_student(
    config: TrainConfig,
    *,
    records: Sequence[Any] | None = None,
    frozen_documents: Any = None,
    encodings: str | Path | None = None,
    precision: str = "auto",
    source: str | None = None,
) -> Any:
    """Train the student `config` describes, whatever its family: the one entry point the pipeline,
    the CLI and scripts use. `records`: mined training records (`rd.mine(...).records`) instead of
    a training-set file in `config.data.training_set`; they are written into the run folder first.
    Returns a `TrainResult` (`.student`: the saved folder)."""
    if records is not None:
        config = with_records(config, records)
    family = family_for(config.student)
    inputs = TrainingInputs(frozen_documents, encodings, precision, source)
    return family.train(config, inputs)

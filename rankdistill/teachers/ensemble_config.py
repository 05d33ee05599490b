"""An ensemble teacher described in YAML, named on the command line as `ensemble:FILE.yaml`.

# configs/teachers/scifact-ensemble.yaml
members:
  - teacher: bm25
  - teacher: bi-encoder:all-MiniLM-L6-v2
    weight: 1.0
    calibration: zscore          # zscore | minmax | rank | temperature
  - teacher: cross-encoder:runs/teachers/scifact-listnet
    max_length: 128
    precision: auto              # auto | float32 | bf16 | fp16 (bf16: true|false is an alias)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rankdistill.core.config import checked
from rankdistill.core.errors import InputError
from rankdistill.core.hardware import PRECISIONS
from rankdistill.encoders.models import EncodingSettings
from rankdistill.retrieval.exported import BACKENDS
from rankdistill.teachers.calibration import METHODS
from rankdistill.teachers.ensemble import EnsembleTeacher, Member
from rankdistill.teachers.registry import TeacherRequest, register_teacher


@dataclass
class MemberConfig:
    # a teacher spec: bm25, bi-encoder:MODEL, cross-encoder:MODEL, sparse:MODEL
    teacher: str = checked("", nonempty=True)
    # its weight in the sum of calibrated member scores
    weight: float = 1.0
    # how its scores are put on a common scale per query before summing (zscore, rank, ...)
    calibration: str = checked("zscore", choices=METHODS)
    # divides the member's calibrated scores
    temperature: float = checked(1.0, gt=0)
    # the member model's max tokens per pair or text (None: the model's own)
    max_length: int | None = checked(None, ge=1)
    precision: str = checked(
        "auto", choices=PRECISIONS
    )  # auto | float32 | bf16 | fp16 (`bf16: true|false` is an alias)
    backend: str = checked(
        "auto", choices=BACKENDS
    )  # cross- and bi-encoders: auto | torch | onnx | onnx-int8 | openvino


@dataclass
class EnsembleConfig:
    members: list[MemberConfig] = checked(default_factory=list, nonempty=True)


def load_ensemble_config(path: str | Path) -> EnsembleConfig:
    from rankdistill.core.config import field_line, load_yaml

    config = load_yaml(EnsembleConfig, path)
    if not config.members:
        raise InputError(
            path, "an ensemble needs at least one member", field_line(path, "members"), "members"
        )
    check_members(config.members, path, "members")
    return config


def check_members(
    members: list[MemberConfig], path: str | Path, where: str, allow_trained: bool = False
) -> None:
    """Each member names a known teacher kind and calibration; errors point at the field."""
    from rankdistill.core.config import field_line
    from rankdistill.core.plugins import import_submodules
    from rankdistill.teachers import TEACHER_KINDS

    import_submodules("rankdistill.teachers")

    def fail(message: str, field: str) -> None:
        raise InputError(path, message, field_line(path, field), field)

    kinds = [k for k in TEACHER_KINDS if k != "ensemble"]
    for i, member in enumerate(members):
        if member.teacher.partition(":")[0] not in kinds:
            fail(
                f"unknown teacher {member.teacher!r}: expected one of {', '.join(kinds)}",
                f"{where}[{i}].teacher",
            )
        if member.teacher == "cross-encoder:trained" and not allow_trained:
            fail("'cross-encoder:trained' needs a teacher.train section", f"{where}[{i}].teacher")
        if member.backend not in ("torch", "auto") and not member.teacher.startswith(
            ("cross-encoder:", "bi-encoder:")
        ):
            fail(
                f"backend {member.backend!r} is for cross- and bi-encoder teachers only",
                f"{where}[{i}].backend",
            )


def load_ensemble(
    path: str | Path,
    corpus_texts: Sequence[str] | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> EnsembleTeacher:
    return ensemble_from_members(
        load_ensemble_config(path).members, corpus_texts, batch_size, device
    )


def ensemble_from_members(
    configs: list[MemberConfig],
    corpus_texts: Sequence[str] | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> EnsembleTeacher:
    from rankdistill.teachers import build_teacher

    members = []
    for member in configs:
        teacher = build_teacher(
            member.teacher,
            corpus_texts,
            encoding=EncodingSettings(
                batch_size, member.max_length, device, member.precision, member.backend
            ),
        )
        members.append(
            Member(teacher, member.weight, member.calibration, member.temperature, member.teacher)
        )
    return EnsembleTeacher(members)


@register_teacher("ensemble")
def ensemble(path: str, request: TeacherRequest) -> EnsembleTeacher:
    """`ensemble:FILE.yaml`: weighted, per-query calibrated members."""
    return load_ensemble(path, request.corpus_texts, request.batch_size, request.device)

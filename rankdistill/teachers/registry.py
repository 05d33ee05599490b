"""The teacher registry. A teacher module registers a factory for its spec kind with what the kind
declares; `build_teacher("KIND:ARGUMENT", ...)` looks the kind up here:

    @register_teacher("bi-encoder", backends=("torch", "onnx", "openvino"))
    def bi_encoder(model: str, request: TeacherRequest) -> BiEncoderTeacher: ...

`model`: whether the spec must name one (`bm25` does not); `corpus`: whether it needs the corpus
texts (BM25's statistics); `backends`: the inference backends it runs on. `rankdistill.teachers`
imports every module of the package, so a new teacher kind is one new module; a kind from outside
the package registers the same way before a spec names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

TORCH_ONLY = ("torch",)


@dataclass(frozen=True)
class TeacherRequest:
    """How the caller wants a teacher built (all but the spec)."""

    corpus_texts: Sequence[str] | None = None
    batch_size: int = 32
    max_length: int | None = None
    device: str | None = None
    precision: str = "auto"
    backend: str = "torch"


@dataclass(frozen=True)
class TeacherKind:
    name: str
    build: Callable[[str, TeacherRequest], Any]
    model: bool
    corpus: bool
    backends: tuple[str, ...]


TEACHER_KINDS: dict[str, TeacherKind] = {}


def register_teacher(
    name: str, *, model: bool = True, corpus: bool = False, backends: tuple[str, ...] = TORCH_ONLY
) -> Callable[[Callable[[str, TeacherRequest], Any]], Callable[[str, TeacherRequest], Any]]:
    """Decorator for a factory `(argument, request) -> Teacher` of spec kind `name`."""

    def add(factory: Callable[[str, TeacherRequest], Any]) -> Callable[[str, TeacherRequest], Any]:
        known = TEACHER_KINDS.get(name)
        if known is not None and known.build.__qualname__ != factory.__qualname__:
            raise ValueError(
                f"teacher kind {name!r} is registered already (by {known.build.__module__})"
            )
        TEACHER_KINDS[name] = TeacherKind(name, factory, model, corpus, tuple(backends))
        return factory

    return add

"""Teachers: the slow, strong rankers whose scores are distilled. Named by a spec string:

cross-encoder:MODEL     CrossEncoder, raw logits
bi-encoder:MODEL        SentenceTransformer, cosine similarity
sparse:MODEL            SPLADE SparseEncoder, dot product
bm25                    BM25 under the statistics of the given corpus
ensemble:FILE.yaml      weighted, per-query calibrated members (teachers/ensemble_config.py)
"""

from __future__ import annotations

from collections.abc import Sequence

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint, weights_hash
from rankdistill.core.plugins import import_submodules
from rankdistill.encoders.models import EncodingSettings
from rankdistill.teachers.base import Teacher
from rankdistill.teachers.calibration import calibrate
from rankdistill.teachers.ensemble import EnsembleTeacher, Member
from rankdistill.teachers.registry import TEACHER_KINDS, TeacherRequest, register_teacher


def build_teacher(
    spec: str,
    corpus_texts: Sequence[str] | None = None,
    *,
    encoding: EncodingSettings | None = None,
) -> Teacher:
    """The teacher a spec names. `corpus_texts`: the corpus, for teachers that need its statistics
    (BM25); `encoding`: how a model teacher encodes (batch size, max length, device, `precision`
    auto | float32 | bf16 | fp16, `backend` auto | torch | onnx | onnx-int8 | openvino where the
    kind declares it); default `EncodingSettings()`."""
    encoding = encoding or EncodingSettings()
    backend = encoding.backend
    import_submodules(
        __name__
    )  # every module registers its teacher kinds: a new kind is one module
    name, _, argument = spec.partition(":")
    kind = TEACHER_KINDS.get(name)
    if kind is None:
        raise UserError(
            f"unknown teacher kind {name!r} in {spec!r}: expected one of {', '.join(TEACHER_KINDS)}"
        )
    if backend not in ("torch", "auto") and backend not in kind.backends:
        raise UserError(
            f"teacher {spec!r}: backend {backend!r} is not one {name} runs on ({', '.join(kind.backends)})"
        )
    if kind.model and not argument:
        raise UserError(f"teacher {spec!r}: name a model, e.g. {name}:path/to/model")
    request = TeacherRequest(
        corpus_texts,
        encoding.batch_size,
        encoding.max_length,
        encoding.device,
        encoding.precision,
        backend,
    )
    return kind.build(argument, request)


__all__ = [
    "EnsembleTeacher",
    "TEACHER_KINDS",
    "TeacherRequest",
    "register_teacher",
    "Member",
    "Teacher",
    "build_teacher",
    "calibrate",
    "make_fingerprint",
    "weights_hash",
]

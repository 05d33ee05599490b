"""Teachers: the slow, strong rankers whose scores are distilled. Named by a spec string:

cross-encoder:MODEL     CrossEncoder, raw logits
bi-encoder:MODEL        SentenceTransformer, cosine similarity
sparse:MODEL            SPLADE SparseEncoder, dot product
bm25                    BM25 under the statistics of the given corpus
ensemble:FILE.yaml      weighted, per-query calibrated members (teachers/ensemble_config.py)
"""

from __future__ import annotations

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint, weights_hash
from rankdistill.teachers.base import Teacher
from rankdistill.teachers.calibration import calibrate
from rankdistill.teachers.ensemble import EnsembleTeacher, Member

KINDS = ("cross-encoder", "bi-encoder", "sparse", "bm25", "ensemble")


def build_teacher(
    spec: str,
    corpus_texts: list[str] | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
    device: str | None = None,
    precision: str = "auto",
    backend: str = "torch",
) -> Teacher:
    """The teacher a spec names; `precision` (auto, float32, bf16, fp16; rankdistill.core.hardware) for
    model teachers, `backend` (auto, torch, onnx, onnx-int8, openvino) for cross-encoders."""
    kind, _, model = spec.partition(":")
    if kind not in KINDS:
        raise UserError(
            f"unknown teacher kind {kind!r} in {spec!r}: expected one of {', '.join(KINDS)}"
        )
    if backend not in ("torch", "auto") and kind not in ("cross-encoder", "bi-encoder"):
        raise UserError(f"teacher {spec!r}: backend {backend!r} is for cross- and bi-encoders only")
    if kind == "bm25":
        if corpus_texts is None:
            raise UserError("a bm25 teacher needs the corpus it scores against")
        from rankdistill.teachers.bm25 import BM25Teacher

        return BM25Teacher(corpus_texts)
    if not model:
        raise UserError(f"teacher {spec!r}: name a model, e.g. {kind}:path/to/model")
    if kind == "ensemble":
        from rankdistill.teachers.ensemble_config import load_ensemble

        return load_ensemble(model, corpus_texts, batch_size, device)
    if kind == "cross-encoder":
        from rankdistill.teachers.cross_encoder import CrossEncoderTeacher

        return CrossEncoderTeacher(
            model,
            max_length=max_length or 256,
            batch_size=batch_size,
            precision=precision,
            device=device,
            backend=backend,
        )
    if kind == "bi-encoder":
        from rankdistill.teachers.bi_encoder import BiEncoderTeacher

        return BiEncoderTeacher(
            model,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            precision=precision,
            backend=backend,
        )
    from rankdistill.teachers.sparse import SparseTeacher

    return SparseTeacher(
        model, batch_size=batch_size, max_length=max_length, device=device, precision=precision
    )


__all__ = [
    "EnsembleTeacher",
    "KINDS",
    "Member",
    "Teacher",
    "build_teacher",
    "calibrate",
    "make_fingerprint",
    "weights_hash",
]

"""A sentence-transformers CrossEncoder as a teacher, returning raw logits.

ST 6 applies a sigmoid to single-label heads by default; distillation wants the raw logits (a
sigmoid squashes margins), so the activation is set explicitly and is part of the fingerprint.
Backends: `torch` (float32, or bf16/fp16 autocast), `onnx` (ONNX Runtime, float32), `onnx-int8`
(int8 weights; faster, and not the same ranking), `openvino` (float32, or bf16 on a CPU with bf16
instructions) and `auto`: OpenVINO on a CPU (the fastest faithful path measured, in the precision
`auto` picks for the CPU), torch on CUDA. evaluation/studies/03-bench_teacher_scoring.md measures speed and
how far each moves the scores. A backend other than torch is part of the fingerprint, so its
scores never mix with torch's.
"""

from __future__ import annotations

import numpy as np
import torch
from sentence_transformers import CrossEncoder

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint, weights_hash
from rankdistill.core.hardware import inference_autocast
from rankdistill.encoders.models import resolve_model
from rankdistill.teachers.registry import TeacherRequest, register_teacher

ACTIVATIONS = {"identity": torch.nn.Identity, "sigmoid": torch.nn.Sigmoid}


class CrossEncoderTeacher:
    def __init__(
        self,
        model: str,
        max_length: int = 256,
        activation: str = "identity",
        batch_size: int = 32,
        precision: str = "auto",
        device: str | None = None,
        backend: str = "auto",
    ):
        from rankdistill.retrieval.exported import resolve_backend

        if backend == "auto" and activation != "identity":
            backend = "torch"  # the exported graphs return raw logits
        if backend not in ("auto", "torch") and activation != "identity":
            raise UserError(
                f"cross-encoder backend {backend!r} returns raw logits: drop the activation"
            )
        backend, precision = resolve_backend(backend, precision, device)
        if activation not in ACTIVATIONS:
            raise UserError(
                f"cross-encoder activation {activation!r}: expected one of {', '.join(ACTIVATIONS)}"
            )
        path = resolve_model(model)
        self.model = CrossEncoder(path, max_length=max_length, device=device)
        if self.model.num_labels != 1:
            raise UserError(
                f"{model}: a cross-encoder teacher needs one output label, this one has {self.model.num_labels}"
            )
        self.activation = ACTIVATIONS[activation]()
        self.max_length = max_length
        self.batch_size = batch_size
        self.precision = precision
        self.backend = backend
        weights = weights_hash(path)
        self.fingerprint = make_fingerprint(
            "cross-encoder",
            weights=weights,
            max_length=max_length,
            activation=activation,
            bf16=precision == "bf16",
            **({"precision": precision} if precision == "fp16" else {}),
            **({"backend": backend} if backend != "torch" else {}),
        )
        self.exported = None
        if backend != "torch":
            from rankdistill.teachers.exported import ExportedCrossEncoder, exported_model

            path = exported_model(self.model, weights, max_length, backend)
            self.exported = ExportedCrossEncoder(self.model, path, max_length, backend, precision)

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        if self.exported is not None:
            return self.exported.predict(list(zip(queries, docs)), self.batch_size)
        with torch.inference_mode(), inference_autocast(self.model.device.type, self.precision):
            scores = self.model.predict(
                list(zip(queries, docs)),
                batch_size=self.batch_size,
                show_progress_bar=False,
                activation_fn=self.activation,
                convert_to_numpy=True,
            )
        return np.asarray(scores, dtype=np.float32).reshape(-1)


@register_teacher("cross-encoder", backends=("torch", "onnx", "onnx-int8", "openvino"))
def cross_encoder(model: str, request: TeacherRequest) -> CrossEncoderTeacher:
    """`cross-encoder:MODEL`: a CrossEncoder's raw logits."""
    return CrossEncoderTeacher(
        model,
        max_length=request.max_length or 256,
        batch_size=request.batch_size,
        precision=request.precision,
        device=request.device,
        backend=request.backend,
    )

"""A sentence-transformers CrossEncoder as a teacher, returning raw logits.

ST 6 applies a sigmoid to single-label heads by default; distillation wants the raw logits (a
sigmoid squashes margins), so the activation is set explicitly and is part of the fingerprint.
Backends: `torch` (optionally bf16 autocast), `onnx` (ONNX Runtime, float32), `onnx-int8`
(int8 weights; faster, and not the same ranking) and `openvino` (float32, or bf16 with `bf16`: the
fastest on a CPU with bf16 instructions); evaluation/bench_teacher_scoring.md measures speed and
how far each moves the scores. A backend other than torch is part of the fingerprint, so its
scores never mix with torch's.
"""

from __future__ import annotations

import numpy as np
import torch
from sentence_transformers import CrossEncoder

from rankdistill.errors import UserError
from rankdistill.models import inference_autocast, resolve_model
from rankdistill.teachers.base import make_fingerprint, weights_hash

ACTIVATIONS = {"identity": torch.nn.Identity, "sigmoid": torch.nn.Sigmoid}


class CrossEncoderTeacher:
    def __init__(
        self,
        model: str,
        max_length: int = 256,
        activation: str = "identity",
        batch_size: int = 32,
        bf16: bool = False,
        device: str | None = None,
        backend: str = "torch",
    ):
        from rankdistill.teachers.exported import BACKENDS

        if backend not in BACKENDS:
            raise UserError(f"unknown cross-encoder backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        if backend != "torch" and activation != "identity":
            raise UserError(f"cross-encoder backend {backend!r} returns raw logits: drop the activation")
        if backend in ("onnx", "onnx-int8") and bf16:
            raise UserError(f"cross-encoder backend {backend!r} runs float32: drop bf16 (or use --backend openvino)")
        if activation not in ACTIVATIONS:
            raise UserError(f"cross-encoder activation {activation!r}: expected one of {', '.join(ACTIVATIONS)}")
        path = resolve_model(model)
        self.model = CrossEncoder(path, max_length=max_length, device=device)
        if self.model.num_labels != 1:
            raise UserError(f"{model}: a cross-encoder teacher needs one output label, this one has {self.model.num_labels}")
        self.activation = ACTIVATIONS[activation]()
        self.max_length = max_length
        self.batch_size = batch_size
        self.bf16 = bf16
        weights = weights_hash(path)
        self.fingerprint = make_fingerprint(
            "cross-encoder", weights=weights, max_length=max_length, activation=activation, bf16=bf16,
            **({"backend": backend} if backend != "torch" else {}),
        )
        self.exported = None
        if backend != "torch":
            from rankdistill.teachers.exported import OnnxCrossEncoder, OpenVinoCrossEncoder, exported_model

            path = exported_model(self.model, weights, max_length, backend)
            if backend == "openvino":
                self.exported = OpenVinoCrossEncoder(self.model, path, max_length, bf16)
            else:
                self.exported = OnnxCrossEncoder(self.model, path, max_length)

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        if self.exported is not None:
            return self.exported.predict(list(zip(queries, docs)), self.batch_size)
        with torch.inference_mode(), inference_autocast(self.model.device.type, self.bf16):
            scores = self.model.predict(
                list(zip(queries, docs)),
                batch_size=self.batch_size,
                show_progress_bar=False,
                activation_fn=self.activation,
                convert_to_numpy=True,
            )
        return np.asarray(scores, dtype=np.float32).reshape(-1)

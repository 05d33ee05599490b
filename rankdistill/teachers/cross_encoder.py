"""A sentence-transformers CrossEncoder as a teacher, returning raw logits.

ST 6 applies a sigmoid to single-label heads by default; distillation wants the raw logits (a
sigmoid squashes margins), so the activation is set explicitly and is part of the fingerprint.
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
    ):
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
        self.fingerprint = make_fingerprint(
            "cross-encoder", weights=weights_hash(path), max_length=max_length, activation=activation, bf16=bf16
        )

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        with torch.inference_mode(), inference_autocast(self.model.device.type, self.bf16):
            scores = self.model.predict(
                list(zip(queries, docs)),
                batch_size=self.batch_size,
                show_progress_bar=False,
                activation_fn=self.activation,
                convert_to_numpy=True,
            )
        return np.asarray(scores, dtype=np.float32).reshape(-1)

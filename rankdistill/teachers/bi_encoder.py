"""A dense bi-encoder (cosine or dot) as a teacher. Each distinct text is encoded once per
process, however many pairs it appears in (`rankdistill.retrieval.dense.encode_texts`)."""

from __future__ import annotations

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import make_fingerprint, runtime_fields, weights_hash
from rankdistill.encoders.models import EncodingSettings, resolve_model
from rankdistill.teachers.registry import TeacherRequest, register_teacher


def unique_texts(texts: list[str]) -> tuple[list[str], np.ndarray]:
    position: dict[str, int] = {}
    index = np.array([position.setdefault(text, len(position)) for text in texts], dtype=np.int64)
    return list(position), index


class BiEncoderTeacher:
    pairs_per_call = 2048  # the store hands over large chunks, so repeated texts are encoded once

    def __init__(
        self,
        model: str,
        similarity: str = "cosine",
        batch_size: int = 32,
        max_length: int | None = None,
        device: str | None = None,
        precision: str = "auto",
        backend: str = "torch",
    ):
        from rankdistill.retrieval.dense import load_dense_model

        if similarity not in ("cosine", "dot"):
            raise UserError(f"bi-encoder similarity {similarity!r}: expected cosine or dot")
        path = resolve_model(model)
        self.encoding = load_dense_model(
            path, EncodingSettings(batch_size, max_length, device, precision, backend)
        )
        self.similarity = similarity
        # cosines: a softmax over a list of them is almost uniform until multiplied by the student's scale
        self.score_scale = "cosine" if similarity == "cosine" else "raw"
        self.fingerprint = make_fingerprint(
            "bi-encoder",
            weights=weights_hash(path),
            similarity=similarity,
            max_length=self.encoding.model.max_seq_length,
            **runtime_fields(self.encoding.settings.precision, self.encoding.settings.backend),
        )

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        q = self._embed("query", queries)
        d = self._embed("document", docs)
        return np.einsum("ij,ij->i", q, d).astype(np.float32)

    def _embed(self, role: str, texts: list[str]) -> np.ndarray:
        from rankdistill.retrieval.dense import encode_texts

        # a bar of its own below the store's, which moves once per call of up to 2,048 pairs
        progress = role == "document" and len(texts) > 4 * self.encoding.settings.batch_size
        return encode_texts(
            self.encoding, texts, role, normalize=self.similarity == "cosine", progress=progress
        )


@register_teacher("bi-encoder", backends=("torch", "onnx", "onnx-int8", "openvino"))
def bi_encoder(model: str, request: TeacherRequest) -> BiEncoderTeacher:
    """`bi-encoder:MODEL`: a SentenceTransformer, cosine similarity."""
    return BiEncoderTeacher(
        model,
        batch_size=request.batch_size,
        max_length=request.max_length,
        device=request.device,
        precision=request.precision,
        backend=request.backend,
    )

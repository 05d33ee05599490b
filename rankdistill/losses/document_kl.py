"""Embedding alignment plus the teacher's ranking of its own document index, for a student that
encodes queries against a teacher's document vectors (`distill: embeddings, serve: teacher-documents`).

An asymmetric student is only ever compared with the teacher's document vectors D, so beyond
putting a text where the teacher puts it, what matters is that it ranks D as the teacher does:

    L = dist(e_S, e_T)  +  w * KL( softmax(scale * e_T D^T) || softmax(scale * e_S D^T) )

e_S the student's (projected) embedding of an alignment text, e_T the teacher's cached one, D the
teacher's vectors of the corpus (fixed), dist the alignment distance of EmbedDistillLoss
(`mse` or `cosine`). Matching embeddings and matching scores over the teacher's index together,
with the teacher's document encoder kept for the documents, is the asymmetric setting of
"EmbedDistill: A Geometric Knowledge Distillation for Information Retrieval" (Seungyeon Kim,
Ankit Singh Rawat, Manzil Zaheer, Sadeep Jayasumana, Veeranjaneyulu Sadhanala, Wittawat
Jitkrittum, Aditya Krishna Menon, Rob Fergus, Sanjiv Kumar; arXiv:2301.12005); here the scores
are over the whole index rather than a mined list, which is cheap because D never changes.

Inputs: one text column; the label is the teacher's embedding (batch, teacher_dim).

Args:
    model: the student SentenceTransformer (with its projection onto the teacher's dimension).
    documents: (N, teacher_dim) the teacher's document vectors, as the index holds them.
    distance_metric: `mse` or `cosine` (the alignment term).
    weight: w, the KL term's weight (0: plain EmbedDistillLoss).
    scale: the similarity scale of both softmaxes (cosine similarities times 20, as InfoNCE).

Example:
    loss = DocumentKL(student, torch.from_numpy(teacher_document_vectors), "cosine", weight=1.0)
    SentenceTransformerTrainer(model=student, train_dataset=texts_with_teacher_vectors, loss=loss)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from sentence_transformers.base.losses.merged_forward import embed_columns
from sentence_transformers.sentence_transformer.losses import EmbedDistillLoss
from torch import Tensor

DOCUMENT_KL_SCALE = 20.0  # cosine similarities times 20, as InfoNCE's default scale


def document_kl(student: Tensor, teacher: Tensor, documents: Tensor, scale: float) -> Tensor:
    """KL(teacher || student) of the softmaxes over `documents`, averaged over the batch."""
    student_log = torch.log_softmax(scale * student @ documents.T, dim=1)
    teacher_log = torch.log_softmax(scale * teacher @ documents.T, dim=1)
    return torch.sum(teacher_log.exp() * (teacher_log - student_log), dim=1).mean()


class DocumentKL(EmbedDistillLoss):
    def __init__(
        self,
        model: Any,
        documents: Tensor,
        distance_metric: str = "cosine",
        weight: float = 1.0,
        scale: float = DOCUMENT_KL_SCALE,
    ):
        super().__init__(model, distance_metric=distance_metric)
        if documents.ndim != 2:
            raise ValueError(f"documents must be (N, dimension), got {tuple(documents.shape)}")
        self.register_buffer("documents", documents.float(), persistent=False)
        self.weight, self.scale = float(weight), float(scale)

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None
    ) -> dict[str, Tensor]:
        if labels is None:
            raise ValueError("DocumentKL needs the teacher's embeddings as labels")
        (embeddings,) = embed_columns(self.model, sentence_features)
        teacher = labels.detach().to(device=embeddings.device, dtype=torch.float32)
        documents = self.documents.to(embeddings.device)
        parts = {
            "alignment": self.compute_loss_from_embeddings(
                [embeddings], [teacher.to(embeddings.dtype)]
            )
        }
        if self.weight:
            parts["document_kl"] = self.weight * document_kl(
                embeddings.float(), teacher, documents, self.scale
            )
        return parts

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "distance_metric": self.distance_metric,
            "weight": self.weight,
            "scale": self.scale,
            "documents": int(self.documents.shape[0]),
        }

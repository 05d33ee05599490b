"""What every distillation loss shares: the label layout, student scores from embeddings, and
sentence-transformers' loss protocol.

A training row is one query with its candidate list `[positive, negative_1, ..., negative_n]`:
the input columns are `query, positive, negative_1 .. negative_n` and the label is the teacher's
`n + 1` scores in the same order (positive first). A loss sees

    student_scores  (B, n + 1)   sim(query, candidate) from the student, times `scale`
    teacher_scores  (B, n + 1)   the label

and its math is a pure function of those two matrices, so dense students (SentenceTransformer) and
sparse ones (SparseEncoder under ST's `SpladeLoss`, which calls `compute_loss_from_embeddings`)
share it. `forward(sentence_features, labels)` embeds the columns (one merged forward for the
candidate columns, as ST's own losses do) and calls `compute_loss_from_embeddings`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from sentence_transformers import util
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor, nn

from rankdistill.core.errors import UserError

Similarity = Callable[[Tensor, Tensor], Tensor]

# name -> (pairwise similarity, matrix similarity)
SIMILARITIES: dict[str, tuple[Similarity, Similarity]] = {
    "cosine": (util.pairwise_cos_sim, util.cos_sim),
    "dot": (util.pairwise_dot_score, util.dot_score),
}


def similarity_name(model: nn.Module, similarity: str) -> str:
    """`similarity` itself, or for "model" the student's own similarity (what retrieval uses):
    cosine for most SentenceTransformers, dot for SparseEncoders."""
    if similarity == "model":
        similarity = getattr(model, "similarity_fn_name", None) or "cosine"
    if similarity not in SIMILARITIES:
        raise UserError(
            f"similarity {similarity!r} is not supported (use model, {', '.join(SIMILARITIES)})"
        )
    return similarity


class Scaled:
    """`scale * fn(a, b)`, a named callable so ST's loss configs and model cards can print it."""

    def __init__(self, fn: Similarity, scale: float):
        self.fn, self.scale = fn, float(scale)
        self.__name__ = fn.__name__

    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        scores = self.fn(a, b)
        return scores if self.scale == 1.0 else scores * self.scale

    def get_config_dict(self) -> dict[str, float]:
        return {"scale": self.scale}


def check_labels(labels: Tensor | None, embeddings: list[Tensor], loss: str) -> Tensor:
    """The teacher scores as a float (B, n + 1) tensor; UserError when they are missing or do not
    match the candidate columns."""
    columns = len(embeddings) - 1
    if columns < 2:
        raise UserError(
            f"{loss}: needs a query, a positive and at least one negative column, got {len(embeddings)} column(s)"
        )
    if labels is None:
        raise UserError(
            f"{loss}: missing teacher scores (the dataset needs a 'label' column of {columns} scores per row)"
        )
    batch = embeddings[0].shape[0]
    if labels.ndim != 2 or labels.shape != (batch, columns):
        raise UserError(
            f"{loss}: teacher scores of shape {tuple(labels.shape)} do not match {batch} rows of {columns} candidates "
            f"(positive + {columns - 1} negatives): each row needs one teacher score per candidate, positive first"
        )
    return labels.detach().float()


def check_scores(student_scores: Tensor, teacher_scores: Tensor) -> None:
    """Shape check for the pure functions: both (B, n + 1) with n >= 1."""
    if (
        student_scores.ndim != 2
        or student_scores.shape != teacher_scores.shape
        or student_scores.shape[1] < 2
    ):
        raise UserError(
            f"student scores {tuple(student_scores.shape)} and teacher scores {tuple(teacher_scores.shape)} must both be "
            "(batch, 1 + negatives) with at least one negative"
        )


class ListLoss(nn.Module):
    """Base of the list losses: subclasses set `name` and implement `score_loss(student, teacher)`.

    `similarity` is "model" (the student's own), "cosine" or "dot"; `scale` multiplies the
    student's scores before the loss (cosine scores live in [-1, 1], teacher logits do not).
    """

    name = "list"

    def __init__(self, model: nn.Module, similarity: str = "model", scale: float = 1.0):
        super().__init__()
        self.model = model
        self.similarity = similarity_name(model, similarity)
        if not scale > 0:
            raise UserError(f"{self.name}: scale must be > 0, got {scale}")
        self.scale = float(scale)
        self.pairwise = Scaled(SIMILARITIES[self.similarity][0], self.scale)

    def observe_features(self, sentence_features: list[dict[str, Tensor]]) -> None:
        """Called with the batch's tokenised columns before the loss; a loss that needs more than
        embeddings (InfoNCE: which texts are identical) keeps what it needs."""

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None
    ) -> Tensor:
        features = list(sentence_features)
        self.observe_features(features)
        return self.compute_loss_from_embeddings(embed_columns(self.model, features), labels)

    def student_scores(self, embeddings: list[Tensor]) -> Tensor:
        query = embeddings[0]
        return torch.stack([self.pairwise(query, docs) for docs in embeddings[1:]], dim=1).float()

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None
    ) -> Tensor:
        teacher = check_labels(labels, embeddings, self.name)
        return self.score_loss(self.student_scores(embeddings), teacher)

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        raise NotImplementedError

    def get_config_dict(self) -> dict[str, Any]:
        return {"similarity": self.similarity, "scale": self.scale}


def forward_features_to(wrapper: nn.Module, loss: nn.Module) -> None:
    """Let `loss` see the tokenised batch when a wrapper (ST's SpladeLoss) calls only its
    `compute_loss_from_embeddings`: the wrapper's forward hands the features over first."""
    if hasattr(loss, "observe_features"):
        wrapper.register_forward_pre_hook(lambda module, args: loss.observe_features(list(args[0])))

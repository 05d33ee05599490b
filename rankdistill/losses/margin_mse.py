"""Margin-MSE (Hofstaetter et al., "Improving Efficient Neural Ranking Models with
Cross-Architecture Knowledge Distillation", arXiv:2010.02666).

    L = mean over rows b and negatives j of
        ((s_S(q, d+) - s_S(q, d_j)) - (s_T(q, d+) - s_T(q, d_j)))^2

Only margins are matched, so teacher and student scales may differ by an offset (not by a factor:
use `scale` to bring cosine students, whose margins are at most 2, towards the teacher's range).
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.

sentence-transformers has exactly this loss (`MarginMSELoss`, `SparseMarginMSELoss` with several
negatives and "[positive, negatives...]" labels): training runs through it; this module adds our
label checks and the similarity/scale choice.
"""

from __future__ import annotations

import torch.nn.functional as F
from sentence_transformers.sentence_transformer.losses import MarginMSELoss
from torch import Tensor, nn

from rankdistill.losses.base import ListLoss, check_labels, check_scores
from rankdistill.losses.registry import register_loss


def margin_mse(student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
    """The formula above on (B, n + 1) score matrices (reference for tests and composition)."""
    check_scores(student_scores, teacher_scores)
    student_margins = student_scores[:, :1] - student_scores[:, 1:]
    teacher_margins = teacher_scores[:, :1] - teacher_scores[:, 1:]
    return F.mse_loss(student_margins, teacher_margins)


@register_loss("margin_mse")
class MarginMSE(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"margin_mse": {"scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {margin_mse: {scale: 20}}
    """

    def __init__(self, model: nn.Module, similarity: str = "model", scale: float = 1.0):
        super().__init__(model, similarity, scale)
        from sentence_transformers.sparse_encoder import SparseEncoder
        from sentence_transformers.sparse_encoder.losses import SparseMarginMSELoss

        st_class = SparseMarginMSELoss if isinstance(model, SparseEncoder) else MarginMSELoss
        self.st_loss = st_class(model, similarity_fct=self.pairwise)

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None
    ) -> Tensor:
        check_labels(labels, embeddings, self.name)
        return self.st_loss.compute_loss_from_embeddings(embeddings, labels.float())

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return margin_mse(student_scores, teacher_scores)

    @property
    def citation(self) -> str:
        return self.st_loss.citation

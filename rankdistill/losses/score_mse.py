"""Raw-score MSE: the student regresses the teacher's scores themselves (pointwise score
distillation; the baseline CPRD argues against in "How to Make Cross Encoder a Good Teacher for
Efficient Image-Text Retrieval?", Chen et al., CVPR 2024, arXiv:2407.07479).

    L = mean over rows b and candidates i of (s_S(q, d_i) - s_T(q, d_i))^2

Unlike Margin-MSE the absolute level must match too, so the teacher's scale matters: z-scored
ensemble scores live around [-2, 2], cosine students in [-1, 1] (bring them closer with `scale`).
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.

sentence-transformers' score MSE exists for CrossEncoders only (`cross_encoder.losses.MSELoss`);
its bi-encoder `MSELoss` matches embeddings, not scores, so this form is ours.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from rankdistill.losses.base import ListLoss, check_scores
from rankdistill.losses.registry import register_loss


def score_mse(student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
    """The formula above on (B, n + 1) score matrices."""
    check_scores(student_scores, teacher_scores)
    return F.mse_loss(student_scores, teacher_scores)


@register_loss("score_mse")
class ScoreMSE(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"score_mse": {"scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {score_mse: {scale: 20}}
    """

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return score_mse(student_scores, teacher_scores)

    @property
    def citation(self) -> str:
        return "Chen et al. How to Make Cross Encoder a Good Teacher for Efficient Image-Text Retrieval? CVPR 2024. arXiv:2407.07479."

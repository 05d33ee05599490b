"""RankNet on the teacher's order (Burges et al., "Learning to Rank using Gradient Descent",
ICML 2005; the pairwise form also behind "Optimizing What Matters: AUC-Driven Learning for Robust
Neural Retrieval").

    L = mean over rows b and pairs (i, j) with s_T(q, d_i) > s_T(q, d_j) of
        log(1 + exp(-(s_S(q, d_i) - s_S(q, d_j))))

i.e. binary cross-entropy of sigmoid(s_S,i - s_S,j) against "the teacher prefers i". Only the
teacher's order matters, not its scale; ties in the teacher's scores give no pair. The positive
is a candidate like any other here (its place comes from the teacher's score).
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.

sentence-transformers' `RankNetLoss` exists for CrossEncoders only (it runs the cross-encoder
itself), so this bi-encoder form is ours.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from rankdistill.losses.base import ListLoss, check_scores
from rankdistill.losses.registry import register_loss


def ranknet(student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
    """The formula above on (B, n + 1) score matrices; 0 (with a graph) when no pair is ordered."""
    check_scores(student_scores, teacher_scores)
    student_diff = student_scores[:, :, None] - student_scores[:, None, :]  # [b, i, j] = s_i - s_j
    teacher_prefers = teacher_scores[:, :, None] > teacher_scores[:, None, :]
    pair_losses = F.softplus(-student_diff)[teacher_prefers]
    return pair_losses.mean() if pair_losses.numel() else student_scores.sum() * 0.0


@register_loss("ranknet")
class RankNet(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"ranknet": {"scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {ranknet: {scale: 20}}
    """

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return ranknet(student_scores, teacher_scores)

    @property
    def citation(self) -> str:
        return "Burges et al. Learning to Rank using Gradient Descent. ICML 2005."

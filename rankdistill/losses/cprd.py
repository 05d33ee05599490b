"""Contrastive partial-ranking distillation, CPRD ("How to Make Cross Encoder a Good Teacher for
Efficient Image-Text Retrieval?"; Yuxin Chen, Zongyang Ma, Ziqi Zhang, Zhongang Qi, Chunfeng Yuan,
Bing Li, Junfu Pu, Ying Shan, Xiaojuan Qi, Weiming Hu; CVPR 2024, arXiv:2407.07479).

Cross-encoder scores are concentrated and bi-encoder scores are not, so matching raw scores
transfers poorly; what carries knowledge is the relative order among the *hard* negatives. CPRD
distils only that order, through contrastive terms, and leaves easy negatives to the base loss:

    base  = mean_b  -log( exp(s_S(q, d+)) / sum_{d in list} exp(s_S(q, d)) )
    h_1..h_K = the teacher's top-K negatives of the row, in teacher order (K = min(k, n))
    rank  = mean_b mean_{i=1..K-1}  -log( exp(s_S(q, h_i)) / sum_{j=i..K} exp(s_S(q, h_j)) )
    L     = base_weight * base + rank_weight * rank

Each rank term is InfoNCE with h_i as the "positive" and the hard negatives the teacher ranks
below it as the negatives, so s_S(h_i) is pushed above s_S(h_j) whenever the teacher ranks h_i
above h_j; nothing else about the teacher's scores is used. The paper states the method for
image-text retrieval; this text-ranking form (hard negatives = the mined list's teacher top-K) is
our reading of it. The base term here is over the row's own list; add `infonce` in a
weighted combination for in-batch negatives.
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import ListLoss, check_scores
from rankdistill.losses.registry import register_loss


def cprd(
    student_scores: Tensor,
    teacher_scores: Tensor,
    k: int = 8,
    base_weight: float = 1.0,
    rank_weight: float = 1.0,
) -> Tensor:
    """The formula above on (B, n + 1) score matrices."""
    check_scores(student_scores, teacher_scores)
    base = (torch.logsumexp(student_scores, dim=1) - student_scores[:, 0]).mean()
    top = min(k, student_scores.shape[1] - 1)
    if top < 2:  # a single hard negative has no order to learn
        return base_weight * base
    hard = torch.topk(teacher_scores.detach()[:, 1:], top, dim=1, sorted=True).indices + 1
    chosen = student_scores.gather(1, hard)
    remaining = torch.logcumsumexp(chosen.flip(1), dim=1).flip(1)
    rank = (remaining - chosen)[:, :-1].mean()
    return base_weight * base + rank_weight * rank


@register_loss("cprd")
class CPRD(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        k: how many of the teacher's top negatives have their order distilled (>= 2).
        base_weight, rank_weight: weights of the base (InfoNCE over the list) and rank terms.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"cprd": {"k": 8, "scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {cprd: {k: 8, scale: 20}}
    """

    def __init__(
        self,
        model: nn.Module,
        k: int = 8,
        base_weight: float = 1.0,
        rank_weight: float = 1.0,
        similarity: str = "model",
        scale: float = 1.0,
    ):
        super().__init__(model, similarity, scale)
        if k < 2:
            raise UserError(
                f"cprd: k (hard negatives whose order is distilled) must be >= 2, got {k}"
            )
        self.k, self.base_weight, self.rank_weight = int(k), float(base_weight), float(rank_weight)

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return cprd(student_scores, teacher_scores, self.k, self.base_weight, self.rank_weight)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            **super().get_config_dict(),
            "k": self.k,
            "base_weight": self.base_weight,
            "rank_weight": self.rank_weight,
        }

    @property
    def citation(self) -> str:
        return "Chen et al. How to Make Cross Encoder a Good Teacher for Efficient Image-Text Retrieval? CVPR 2024. arXiv:2407.07479."

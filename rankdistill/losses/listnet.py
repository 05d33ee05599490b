"""ListNet (Cao et al., "Learning to Rank: From Pairwise Approach to Listwise Approach", ICML 2007),
top-one probabilities against the teacher's.

    L = mean_b  - sum_i softmax(s_T(q, .) / tau_T)_i * log softmax(s_S(q, .))_i

the cross-entropy of the student's list distribution against the teacher's. It differs from
forward listwise KL only by the teacher's entropy (a constant for the student), so the gradients
are the same as `listwise_kl` with student temperature 1; the value is not.
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.

sentence-transformers' `ListNetLoss` exists for CrossEncoders only, so this bi-encoder form is ours.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import ListLoss, check_scores
from rankdistill.losses.registry import register_loss


def listnet(
    student_scores: Tensor, teacher_scores: Tensor, teacher_temperature: float = 1.0
) -> Tensor:
    """The formula above on (B, n + 1) score matrices."""
    check_scores(student_scores, teacher_scores)
    p_teacher = torch.softmax(teacher_scores.detach() / teacher_temperature, dim=1)
    return -(p_teacher * torch.log_softmax(student_scores, dim=1)).sum(dim=1).mean()


@register_loss("listnet")
class ListNet(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        teacher_temperature: tau_T of the teacher's softmax.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"listnet": {"scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {listnet: {scale: 20}}
    """

    def __init__(
        self,
        model: nn.Module,
        teacher_temperature: float = 1.0,
        similarity: str = "model",
        scale: float = 1.0,
    ):
        super().__init__(model, similarity, scale)
        if not teacher_temperature > 0:
            raise UserError(f"listnet: teacher_temperature must be > 0, got {teacher_temperature}")
        self.teacher_temperature = float(teacher_temperature)

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return listnet(student_scores, teacher_scores, self.teacher_temperature)

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), "teacher_temperature": self.teacher_temperature}

    @property
    def citation(self) -> str:
        return (
            "Cao et al. Learning to Rank: From Pairwise Approach to Listwise Approach. ICML 2007."
        )

"""Plackett-Luce distillation, PLD ("PLD: A Choice-Theoretic List-Wise Knowledge Distillation";
Ejafa Bassam, Dawei Zhu, Kaigui Bian; arXiv:2506.12542).

One teacher-optimal ranking pi per query: the labelled positive first, then the negatives in the
teacher's order (highest teacher score first). The student's Plackett-Luce log-likelihood of that
ranking is a sequence of choices, each weighted by the teacher's confidence in the item chosen:

    w = softmax(s_T(q, .) / tau_T)
    L = mean_b  sum_{k=1..m}  w_{pi_k} * ( log sum_{l>=k} exp(s_S(q, d_{pi_l})) - s_S(q, d_{pi_k}) )

(m = n + 1 candidates; the last choice is certain and adds 0). One loss replaces the usual
"contrastive + alpha * KD" sum: the first choice is InfoNCE on the positive over the list, the
later ones transfer the teacher's order among negatives.
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import ListLoss, check_scores
from rankdistill.losses.registry import register_loss


def teacher_ranking(teacher_scores: Tensor) -> Tensor:
    """(B, n + 1) column indices: 0 (the positive), then negatives by descending teacher score."""
    negatives = torch.argsort(teacher_scores[:, 1:], dim=1, descending=True, stable=True) + 1
    return torch.cat([torch.zeros_like(negatives[:, :1]), negatives], dim=1)


def plackett_luce(
    student_scores: Tensor, teacher_scores: Tensor, teacher_temperature: float = 1.0
) -> Tensor:
    """The formula above on (B, n + 1) score matrices."""
    check_scores(student_scores, teacher_scores)
    teacher_scores = teacher_scores.detach()
    order = teacher_ranking(teacher_scores)
    chosen = student_scores.gather(1, order)
    weights = torch.softmax(teacher_scores / teacher_temperature, dim=1).gather(1, order)
    # log of the sum over the items still left at each choice: a reversed cumulative logsumexp
    remaining = torch.logcumsumexp(chosen.flip(1), dim=1).flip(1)
    return (weights * (remaining - chosen)).sum(dim=1).mean()


@register_loss("plackett_luce")
class PlackettLuce(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        teacher_temperature: tau_T of the softmax that weights each choice.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"plackett_luce": {"scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {plackett_luce: {scale: 20}}
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
            raise UserError(
                f"plackett_luce: teacher_temperature must be > 0, got {teacher_temperature}"
            )
        self.teacher_temperature = float(teacher_temperature)

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return plackett_luce(student_scores, teacher_scores, self.teacher_temperature)

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), "teacher_temperature": self.teacher_temperature}

    @property
    def citation(self) -> str:
        return "Bassam, Zhu, Bian. PLD: A Choice-Theoretic List-Wise Knowledge Distillation. arXiv:2506.12542."

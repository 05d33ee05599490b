"""Listwise KL distillation over each query's candidate list ("Teaching Dense Retrieval Models to
Specialize with Listwise Distillation and LLM Data Augmentation"; Manveer Singh Tamber, Suleman
Kazi, Vivek Sourabh, Jimmy Lin; arXiv:2502.19712).

    p_T = softmax(s_T(q, .) / tau_T),   p_S = softmax(s_S(q, .) / tau_S)   over [d+, d_1..d_n]
    forward:  L = tau_S^2 * mean_b KL(p_T || p_S) = tau_S^2 * mean_b sum_i p_T,i (log p_T,i - log p_S,i)
    reverse:  L = tau_S^2 * mean_b KL(p_S || p_T) = tau_S^2 * mean_b sum_i p_S,i (log p_S,i - log p_T,i)

`positive_margin` (ours, off by default) makes the teacher's list agree with the judgement before
the softmax: where the teacher scores a negative above the judged positive d+, d+'s score is lifted
to the best negative's plus the margin, s_T(q, d+) <- max(s_T(q, d+), max_i s_T(q, d_i) + margin).
The order among the negatives, which is what the teacher knows beyond the label, is kept.

Forward KL is mass-covering (the student must put probability wherever the teacher does); reverse
KL is mode-seeking (the student is punished for probability where the teacher has little). The
tau_S^2 factor keeps gradient sizes comparable across temperatures (Hinton et al.).
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.

Forward KL is sentence-transformers' `DistillKLDivLoss` / `SparseDistillKLDivLoss` exactly, and
training runs through it; reverse KL is ours.
"""

from __future__ import annotations

from typing import Any

import torch
from sentence_transformers.sentence_transformer.losses import DistillKLDivLoss
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import ListLoss, check_labels, check_scores
from rankdistill.losses.registry import register_loss

DIRECTIONS = ("forward", "reverse")


def positive_first(teacher_scores: Tensor, margin: float) -> Tensor:
    """Teacher scores (B, n + 1), positive in column 0, with the positive lifted to at least the
    best negative's score plus `margin`."""
    lifted = torch.maximum(teacher_scores[:, 0], teacher_scores[:, 1:].max(dim=1).values + margin)
    return torch.cat([lifted.unsqueeze(1), teacher_scores[:, 1:]], dim=1)


def listwise_kl(
    student_scores: Tensor,
    teacher_scores: Tensor,
    student_temperature: float = 1.0,
    teacher_temperature: float = 1.0,
    direction: str = "forward",
) -> Tensor:
    """The formula above on (B, n + 1) score matrices."""
    check_scores(student_scores, teacher_scores)
    log_p_student = torch.log_softmax(student_scores / student_temperature, dim=1)
    log_p_teacher = torch.log_softmax(teacher_scores.detach() / teacher_temperature, dim=1)
    if direction == "forward":
        kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)
    elif direction == "reverse":
        kl = (log_p_student.exp() * (log_p_student - log_p_teacher)).sum(dim=1)
    else:
        raise UserError(
            f"listwise_kl: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
        )
    return kl.mean() * student_temperature**2


@register_loss("listwise_kl")
class ListwiseKL(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        direction: "forward" (KL(teacher || student), mass-covering) or "reverse" (mode-seeking).
        temperature: tau for both sides, unless one of the two below is given.
        student_temperature, teacher_temperature: tau_S and tau_T separately.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).
        positive_margin: if given, the judged positive's teacher score is lifted to at least the
            best negative's plus this margin (the formula above); None keeps the teacher's list.

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"listwise_kl": {"temperature": 1.0, "scale": 20}, "infonce": {"weight": 0.1}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {listwise_kl: {temperature: 1.0, scale: 20}}
    """

    def __init__(
        self,
        model: nn.Module,
        direction: str = "forward",
        temperature: float = 1.0,
        student_temperature: float | None = None,
        teacher_temperature: float | None = None,
        similarity: str = "model",
        scale: float = 1.0,
        positive_margin: float | None = None,
    ):
        super().__init__(model, similarity, scale)
        self.positive_margin = positive_margin
        if direction not in DIRECTIONS:
            raise UserError(
                f"listwise_kl: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
            )
        self.direction = direction
        self.student_temperature = float(
            temperature if student_temperature is None else student_temperature
        )
        self.teacher_temperature = float(
            temperature if teacher_temperature is None else teacher_temperature
        )
        for label in ("student_temperature", "teacher_temperature"):
            if not getattr(self, label) > 0:
                raise UserError(f"listwise_kl: {label} must be > 0, got {getattr(self, label)}")
        self.st_loss = None
        if direction == "forward":
            from sentence_transformers.sparse_encoder import SparseEncoder
            from sentence_transformers.sparse_encoder.losses import SparseDistillKLDivLoss

            st_class = (
                SparseDistillKLDivLoss if isinstance(model, SparseEncoder) else DistillKLDivLoss
            )
            self.st_loss = st_class(
                model,
                similarity_fct=self.pairwise,
                student_temperature=self.student_temperature,
                teacher_temperature=self.teacher_temperature,
            )

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None
    ) -> Tensor:
        if self.st_loss is None:
            return super().compute_loss_from_embeddings(embeddings, labels)
        check_labels(labels, embeddings, self.name)
        return self.st_loss.compute_loss_from_embeddings(
            embeddings, self.teacher_list(labels.float())
        )

    def teacher_list(self, teacher_scores: Tensor) -> Tensor:
        return (
            teacher_scores
            if self.positive_margin is None
            else positive_first(teacher_scores, self.positive_margin)
        )

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return listwise_kl(
            student_scores,
            self.teacher_list(teacher_scores),
            self.student_temperature,
            self.teacher_temperature,
            self.direction,
        )

    def get_config_dict(self) -> dict[str, Any]:
        return {
            **super().get_config_dict(),
            "direction": self.direction,
            "student_temperature": self.student_temperature,
            "teacher_temperature": self.teacher_temperature,
            **({} if self.positive_margin is None else {"positive_margin": self.positive_margin}),
        }

    @property
    def citation(self) -> str:
        return DistillKLDivLoss.citation.fget(self)

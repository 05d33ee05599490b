"""Listwise KL distillation over each query's candidate list ("Teaching Dense Retrieval Models to
Specialize with Listwise Distillation and LLM Data Augmentation"; Manveer Singh Tamber, Suleman
Kazi, Vivek Sourabh, Jimmy Lin; arXiv:2502.19712).

    p_T = softmax(s_T(q, .) / tau_T),   p_S = softmax(s_S(q, .) / tau_S)   over [d+, d_1..d_n]
    forward:  L = tau_S^2 * mean_b KL(p_T || p_S) = tau_S^2 * mean_b sum_i p_T,i (log p_T,i - log p_S,i)
    reverse:  L = tau_S^2 * mean_b KL(p_S || p_T) = tau_S^2 * mean_b sum_i p_S,i (log p_S,i - log p_T,i)

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

DIRECTIONS = ("forward", "reverse")


def listwise_kl(
    student_scores: Tensor, teacher_scores: Tensor, student_temperature: float = 1.0, teacher_temperature: float = 1.0, direction: str = "forward"
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
        raise UserError(f"listwise_kl: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    return kl.mean() * student_temperature**2


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

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"listwise_kl": {"temperature": 1.0, "scale": 20}, "infonce": {"weight": 0.1}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {listwise_kl: {temperature: 1.0, scale: 20}}
    """

    name = "listwise_kl"

    def __init__(
        self,
        model: nn.Module,
        direction: str = "forward",
        temperature: float = 1.0,
        student_temperature: float | None = None,
        teacher_temperature: float | None = None,
        similarity: str = "model",
        scale: float = 1.0,
    ):
        super().__init__(model, similarity, scale)
        if direction not in DIRECTIONS:
            raise UserError(f"listwise_kl: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        self.direction = direction
        self.student_temperature = float(temperature if student_temperature is None else student_temperature)
        self.teacher_temperature = float(temperature if teacher_temperature is None else teacher_temperature)
        for label in ("student_temperature", "teacher_temperature"):
            if not getattr(self, label) > 0:
                raise UserError(f"listwise_kl: {label} must be > 0, got {getattr(self, label)}")
        self.st_loss = None
        if direction == "forward":
            from sentence_transformers.sparse_encoder import SparseEncoder
            from sentence_transformers.sparse_encoder.losses import SparseDistillKLDivLoss

            st_class = SparseDistillKLDivLoss if isinstance(model, SparseEncoder) else DistillKLDivLoss
            self.st_loss = st_class(
                model,
                similarity_fct=self.pairwise,
                student_temperature=self.student_temperature,
                teacher_temperature=self.teacher_temperature,
            )

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None) -> Tensor:
        if self.st_loss is None:
            return super().compute_loss_from_embeddings(embeddings, labels)
        check_labels(labels, embeddings, self.name)
        return self.st_loss.compute_loss_from_embeddings(embeddings, labels.float())

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return listwise_kl(student_scores, teacher_scores, self.student_temperature, self.teacher_temperature, self.direction)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            **super().get_config_dict(),
            "direction": self.direction,
            "student_temperature": self.student_temperature,
            "teacher_temperature": self.teacher_temperature,
        }

    @property
    def citation(self) -> str:
        return DistillKLDivLoss.citation.fget(self)

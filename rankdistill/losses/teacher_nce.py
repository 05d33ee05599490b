"""Contrastive loss against the teacher's distribution: InfoNCE whose one-hot target is replaced by
the teacher's softmax over its list, every other candidate a negative. The target is the soft one
of knowledge distillation ("Distilling the Knowledge in a Neural Network"; Geoffrey Hinton, Oriol
Vinyals, Jeff Dean; arXiv:1503.02531), the candidate set that of InfoNCE ("Representation Learning
with Contrastive Predictive Coding"; Aaron van den Oord, Yazhe Li, Oriol Vinyals; arXiv:1807.03748).

    p_T(j | b) = softmax_j(t_b,j / tau)                    over row b's list [d_0, d_1..d_n]
    L = mean_b  -sum_j p_T(j | b) * log( exp(s(q_b, d_j)) / sum_{d in C_b} exp(s(q_b, d)) )

with s = scale * sim. C_b is every candidate of the batch (all rows' lists; in query-side training
the whole frozen corpus, so every unlisted document is a negative with target 0). With a one-hot
p_T at d_0 this is InfoNCE. For queries without judgements (`mine.queries: unlabeled`), whose list
is the teacher's top k (rankdistill/mining/teacher_labelled.py), it teaches the student where the
teacher puts its mass among all documents, not only the order within the list. No label is read.
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import SIMILARITIES, ListLoss, Scaled, check_labels
from rankdistill.losses.registry import register_loss


def teacher_nce(
    scores: Tensor,
    target_index: Tensor,
    teacher_scores: Tensor,
    temperature: float = 1.0,
    excluded: Tensor | None = None,
) -> Tensor:
    """The formula above on a (B, M) score matrix: row b's list is columns `target_index[b]`
    (B, L) with teacher scores `teacher_scores[b]` (B, L); `excluded[b, m]` drops candidate m from
    row b's denominator (never a listed one)."""
    if (
        scores.ndim != 2
        or target_index.ndim != 2
        or target_index.shape != teacher_scores.shape
        or target_index.shape[0] != scores.shape[0]
    ):
        raise UserError(
            f"teacher_nce: scores {tuple(scores.shape)}, target_index {tuple(target_index.shape)} and teacher scores "
            f"{tuple(teacher_scores.shape)} do not match"
        )
    if not temperature > 0:
        raise UserError(f"teacher_nce: temperature must be > 0, got {temperature}")
    if excluded is not None:
        excluded = excluded.clone()
        excluded.scatter_(1, target_index, False)
        scores = scores.masked_fill(excluded, float("-inf"))
    target = torch.softmax(teacher_scores.detach().float() / temperature, dim=1)
    log_p = torch.log_softmax(scores.float(), dim=1).gather(1, target_index)
    return -(target * log_p).sum(dim=1).mean()


@register_loss("teacher_nce")
class TeacherNCE(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them; the
    other rows' lists are in-batch negatives. In query-side training (`corpus_loss`) the
    candidates are the whole frozen corpus.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        temperature: tau of the teacher's softmax (the teacher's own scale: 0.5 for a sum of two
            z-scores puts ~95% of the mass on its top 5 of a SciFact list).
        scale: the inverse temperature of the student's softmax over candidates (default 20).
        similarity: "model" (the student's own similarity), "cosine" or "dot".

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"teacher_nce": {"temperature": 0.5, "scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {teacher_nce: {temperature: 0.5}, listwise_kl: {weight: 0.3, scale: 20}}
    """

    def __init__(
        self,
        model: nn.Module,
        temperature: float = 1.0,
        scale: float = 20.0,
        similarity: str = "model",
    ):
        super().__init__(model, similarity, scale)
        if not temperature > 0:
            raise UserError(f"teacher_nce: temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.matrix = Scaled(SIMILARITIES[self.similarity][1], self.scale)

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None = None
    ) -> Tensor:
        teacher = check_labels(labels, embeddings, self.name)
        query, candidates = embeddings[0], embeddings[1:]
        batch = query.shape[0]
        scores = self.matrix(
            query, torch.cat(candidates, dim=0)
        )  # columns: (candidate column, row) column-major
        rows = torch.arange(batch, device=query.device)
        target_index = torch.stack(
            [column * batch + rows for column in range(len(candidates))], dim=1
        )
        return teacher_nce(scores, target_index, teacher, self.temperature)

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        """Over the row's own list only (no other candidates): the listwise cross-entropy."""
        index = torch.arange(student_scores.shape[1], device=student_scores.device).expand_as(
            student_scores
        )
        return teacher_nce(student_scores, index, teacher_scores, self.temperature)

    def corpus_loss(
        self, scores: Tensor, positions: Tensor, teacher: Tensor, masked: Tensor | None
    ) -> Tensor:
        """Query-side training: `scores` (B, N) scaled against the whole corpus, `positions`
        (B, 1 + n) each row's list in it, `teacher` (B, 1 + n) its teacher scores."""
        return teacher_nce(scores, positions, teacher, self.temperature, masked)

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), "temperature": self.temperature}

    @property
    def citation(self) -> str:
        return (
            "Hinton, Vinyals, Dean. Distilling the Knowledge in a Neural Network. arXiv:1503.02531."
        )

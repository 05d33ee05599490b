"""The hard label: cross-entropy of the judged positive against its row's negatives, no teacher
(the Localized Contrastive Estimation of Gao, Dai and Callan, "Rethink Training of BERT Rerankers
in Multi-Stage Retrieval Pipeline", arXiv:2101.08751: a softmax over the positive and hard
negatives from the first-stage retriever).

    L = mean_b  - log softmax(s_S(q, [d+, d_1..d_n]))_0

The list form of the relevance label the training set already holds (the positive is column 0),
meant as a small extra term beside a teacher's loss: `{listwise_kl: 1, label_ce: 0.1}`. Unlike
InfoNCE its negatives are the row's own listed ones, not the batch's other rows, so it suits
cross-encoder students too. The teacher's scores (the label) are not read.
Inputs: columns (query, positive, negative_1..n), label (B, n + 1) teacher scores (ignored).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rankdistill.losses.base import ListLoss, check_scores
from rankdistill.losses.registry import register_loss


def label_ce(student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
    """The formula above on (B, n + 1) score matrices (`teacher_scores` only for the shape check)."""
    check_scores(student_scores, teacher_scores)
    return -torch.log_softmax(student_scores, dim=1)[:, 0].mean()


@register_loss("label_ce", teacher=False)
class LabelCE(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) as `rankdistill mine` writes them (only their shape is read).

    Args:
        model: the student (a SentenceTransformer, SparseEncoder or CrossEncoder) whose scores are trained.
        similarity: "model" (the student's own similarity, what retrieval uses), "cosine" or "dot".
        scale: multiplies the student's scores before the loss (cosine students: about 20).

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"listwise_kl": {"scale": 20}, "label_ce": {"weight": 0.1, "scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {listwise_kl: {scale: 20}, label_ce: {weight: 0.1, scale: 20}}
    """

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        return label_ce(student_scores, teacher_scores)

    @property
    def citation(self) -> str:
        return "Gao, Dai and Callan. Rethink Training of BERT Rerankers in Multi-Stage Retrieval Pipeline. ECIR 2021. arXiv:2101.08751."

"""InfoNCE with in-batch and hard negatives, masking what is known not to be a negative
("Representation Learning with Contrastive Predictive Coding"; Aaron van den Oord, Yazhe Li, Oriol
Vinyals; arXiv:1807.03748. In-batch negatives as in "Dense Passage Retrieval for Open-Domain
Question Answering"; Karpukhin et al., EMNLP 2020, arXiv:2004.04906).

    L = mean_b  -log( exp(s(q_b, d+_b)) / sum_{d in C_b} exp(s(q_b, d)) )

with s = scale * sim and C_b every candidate in the batch (all rows' positives and negatives,
or only row b's own list with `in_batch: false`) minus the masked ones: a candidate is masked for
row b when its text is identical to a positive of b's query anywhere in the batch, i.e. a
duplicate of b's own positive, or the positive of another row with the same query (a query with
several positives gives one row per positive). b's own positive is never masked. Identity is
judged on the tokenised text (token ids under the attention mask), so it needs the batch's
features: `forward` sees them; under a wrapper (ST's SpladeLoss) `forward_features_to` hands them
over. Teacher scores are not used.
Inputs: columns (query, positive, negative_1..n); the label is ignored.

sentence-transformers' `MultipleNegativesRankingLoss` (6.x) is this loss without the masking (it
recommends a no-duplicates batch sampler instead, which would throw away rows whose BM25
negatives repeat across queries), so the masked form is ours.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import SIMILARITIES, ListLoss, Scaled
from rankdistill.losses.registry import register_loss

log = logging.getLogger(__name__)


def info_nce(scores: Tensor, positive_index: Tensor, excluded: Tensor | None = None) -> Tensor:
    """The formula above on a (B, M) score matrix: `positive_index[b]` is row b's positive
    column, `excluded[b, m]` drops candidate m from row b's denominator (never the positive)."""
    if scores.ndim != 2 or positive_index.shape != (scores.shape[0],):
        raise UserError(
            f"info_nce: scores {tuple(scores.shape)} and positive_index {tuple(positive_index.shape)} do not match"
        )
    rows = torch.arange(scores.shape[0], device=scores.device)
    positives = scores[rows, positive_index]
    if excluded is not None:
        excluded = excluded.clone()
        excluded[rows, positive_index] = False
        scores = scores.masked_fill(excluded, float("-inf"))
    return (torch.logsumexp(scores, dim=1) - positives).mean()


def text_keys(features: dict[str, Tensor]) -> list[int]:
    """One hash per row of a tokenised column: equal texts give equal keys."""
    ids, mask = features["input_ids"], features.get("attention_mask")
    rows = ids.tolist() if mask is None else [row[m.bool()].tolist() for row, m in zip(ids, mask)]
    return [hash(tuple(row)) for row in rows]


def known_positive_mask(query_keys: Tensor, doc_keys: Tensor) -> Tensor:
    """(B, M) bool: candidate m equals the positive of some row with row b's query.

    `query_keys` (B,), `doc_keys` (M,) with the B positives first (column-major candidates)."""
    batch = query_keys.shape[0]
    same_query = (query_keys[:, None] == query_keys[None, :]).float()  # (B, B)
    equals_positive = (doc_keys[None, :] == doc_keys[:batch, None]).float()  # (B positives, M)
    return (same_query @ equals_positive) > 0


@register_loss(
    "infonce",
    teacher=False,
    families=("dense", "sparse"),
    note="its negatives are the other rows' documents (in-batch), which a cross-encoder does not embed",
)
class InfoNCE(ListLoss):
    """The loss above as a sentence-transformers loss module: rows (query, positive,
    negative_1..n) and labels (B, n + 1) teacher scores, as `rankdistill mine` writes them.

    Args:
        model: the student (a SentenceTransformer or SparseEncoder) whose scores are trained.
        scale: the inverse temperature of the softmax over candidates (default 20).
        in_batch: also use the other rows' positives and negatives as negatives.
        mask_known_positives: leave a query's other judged positives out of its negatives.
        similarity: "model" (the student's own similarity), "cosine" or "dot".

    Example::

        from sentence_transformers import SentenceTransformer
        from rankdistill.losses import build_loss

        loss = build_loss({"infonce": {"scale": 20}}, SentenceTransformer("all-MiniLM-L6-v2"))
        # the same in a run or train config:  loss: {infonce: {scale: 20}}
    """

    def __init__(
        self,
        model: nn.Module,
        scale: float = 20.0,
        in_batch: bool = True,
        mask_known_positives: bool = True,
        similarity: str = "model",
    ):
        super().__init__(model, similarity, scale)
        self.in_batch, self.mask_known_positives = bool(in_batch), bool(mask_known_positives)
        self.matrix = Scaled(SIMILARITIES[self.similarity][1], self.scale)
        self._keys: list[list[int]] | None = None
        self._warned = False

    def observe_features(self, sentence_features: list[dict[str, Tensor]]) -> None:
        if self.mask_known_positives:
            self._keys = [text_keys(features) for features in sentence_features]

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None = None
    ) -> Tensor:
        if len(embeddings) < 2:
            raise UserError(
                f"infonce: needs a query and a positive column, got {len(embeddings)} column(s)"
            )
        keys, self._keys = self._keys, None  # keys belong to exactly one batch
        query, candidates = embeddings[0], embeddings[1:]
        batch = query.shape[0]
        if self.in_batch:
            scores = self.matrix(
                query, torch.cat(candidates, dim=0)
            )  # columns: (candidate column, row) column-major
            positive_index = torch.arange(batch, device=query.device)
        else:
            scores = torch.stack([self.pairwise(query, docs) for docs in candidates], dim=1)
            positive_index = torch.zeros(batch, dtype=torch.long, device=query.device)
        excluded = (
            self._mask(keys, batch, len(candidates), query.device)
            if self.mask_known_positives
            else None
        )
        return info_nce(scores.float(), positive_index, excluded)

    def _mask(
        self, keys: list[list[int]] | None, batch: int, columns: int, device: torch.device
    ) -> Tensor | None:
        if keys is None or len(keys) != columns + 1 or any(len(k) != batch for k in keys):
            if not self._warned:
                log.warning(
                    "infonce: the batch's token ids were not seen, so known positives are not masked"
                )
                self._warned = True
            return None
        query_keys = torch.tensor(keys[0], dtype=torch.int64, device=device)
        doc_keys = torch.tensor(
            [key for column in keys[1:] for key in column], dtype=torch.int64, device=device
        )
        mask = known_positive_mask(query_keys, doc_keys)
        if self.in_batch:
            return mask
        # own list only: row b's candidates are entries b, B + b, 2B + b, ... of the column-major keys
        own = (
            torch.arange(columns, device=device)[None, :] * batch
            + torch.arange(batch, device=device)[:, None]
        )
        return mask.gather(1, own)

    def corpus_loss(
        self, scores: Tensor, positions: Tensor, teacher: Tensor, masked: Tensor | None
    ) -> Tensor:
        """Query-side training: `scores` (B, N) scaled against the whole corpus, `positions`
        (B, 1 + n) each row's list in it, positive first; the teacher's scores are not used."""
        return info_nce(scores, positions[:, 0], masked)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            **super().get_config_dict(),
            "in_batch": self.in_batch,
            "mask_known_positives": self.mask_known_positives,
        }

    @property
    def citation(self) -> str:
        return "van den Oord et al. Representation Learning with Contrastive Predictive Coding. arXiv:1807.03748."

"""Sampled corpus negatives for query-side training. The corpus-level terms (InfoNCE, teacher_nce
over the whole frozen corpus) take a softmax over every document: B x N scores a step, which at
ten million documents no longer fits. A batch's columns are then

    A   every document the batch's lists name (positives and their mined negatives), and every
        other known positive of a batch query (masked out of its row, as in the full softmax)
    S   M documents drawn uniformly from the rest of the corpus (with replacement, deduplicated)

and each sampled column's logit gets the logQ correction log((N - |A|) / |S|): the sampled-softmax
estimate of the denominator sum over the unlisted documents ("On Using Very Large Target
Vocabulary for Neural Machine Translation"; Sebastien Jean, Kyunghyun Cho, Roland Memisevic, Yoshua
Bengio; arXiv:1412.2007; the correction as in "Sampling-Bias-Corrected Neural Modeling for Large
Corpus Item Recommendations", Xinyang Yi et al., RecSys 2019). With M >= N - |A| every document is
a column and the loss is the full softmax exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# above this many frozen documents a run samples its corpus negatives unless told otherwise
FULL_SOFTMAX_LIMIT = 500_000
DEFAULT_SAMPLE = 65_536


@dataclass
class BatchColumns:
    """The corpus columns one batch scores against."""

    columns: torch.Tensor  # (C,) corpus rows
    correction: torch.Tensor  # (C,) added to the scaled logits: 0 for A, log((N - |A|)/|S|) for S
    positions: torch.Tensor  # (B, L) each row's list, as column numbers
    masked: torch.Tensor  # (B, C) a row's other known positives


def other_positives(query_ids: list[str], positives: list[int]) -> list[list[int]]:
    """For each row, the corpus rows of the other rows' positives with the same query."""
    by_query: dict[str, set[int]] = {}
    for query_id, position in zip(query_ids, positives):
        by_query.setdefault(query_id, set()).add(position)
    return [sorted(by_query[q] - {p}) for q, p in zip(query_ids, positives)]


def full_columns(
    positions: torch.Tensor, others: list[list[int]], corpus_size: int
) -> BatchColumns:
    """Every document a column: the full softmax (the mask built for this batch only)."""
    masked = torch.zeros(positions.shape[0], corpus_size, dtype=torch.bool, device=positions.device)
    for i, rows in enumerate(others):
        if rows:
            masked[i, rows] = True
    columns = torch.arange(corpus_size, device=positions.device)
    return BatchColumns(
        columns, torch.zeros(corpus_size, device=positions.device), positions, masked
    )


def sampled_columns(
    positions: torch.Tensor,
    others: list[list[int]],
    corpus_size: int,
    sample: int,
    generator: torch.Generator,
) -> BatchColumns:
    """The batch's columns A and a uniform sample S of `sample` other documents, as above."""
    device = positions.device
    always = torch.unique(
        torch.cat(
            [
                positions.flatten().cpu(),
                torch.tensor([r for rows in others for r in rows], dtype=torch.long),
            ]
        )
    )
    rest = corpus_size - always.numel()
    if sample >= rest:  # every document: the full softmax
        return full_columns(positions, others, corpus_size)
    drawn = torch.unique(
        torch.randint(0, corpus_size, (sample + always.numel(),), generator=generator)
    )
    drawn = drawn[~torch.isin(drawn, always)][:sample]
    columns = torch.cat([always, drawn])
    correction = torch.zeros(columns.numel())
    if drawn.numel():
        correction[always.numel() :] = math.log(rest / drawn.numel())
    column_of = {int(c): i for i, c in enumerate(always.tolist())}  # listed documents are all in A
    local = torch.tensor(
        [[column_of[int(p)] for p in row] for row in positions.tolist()], dtype=torch.long
    )
    masked = torch.zeros(positions.shape[0], columns.numel(), dtype=torch.bool)
    for i, rows in enumerate(others):
        if rows:
            masked[i, [column_of[r] for r in rows]] = True
    return BatchColumns(
        columns.to(device), correction.to(device), local.to(device), masked.to(device)
    )

"""Exact top-k by inner product over vectors that need not fit in memory: the corpus (a tensor, or
a memory-mapped array wrapped without a copy) is read one block of documents after another, and
only (queries x block) scores and the running top k are ever held."""

from __future__ import annotations

import warnings

import numpy as np
import torch


def blockwise_topk(
    vectors: torch.Tensor, corpus: torch.Tensor, k: int, block: int = 262_144
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, corpus rows) of each query's top `k` by dot product, searching `block` documents at
    a time: (queries x block) scores in memory, never (queries x corpus), and a memory-mapped
    corpus read one block after another."""
    best: tuple[torch.Tensor, torch.Tensor] | None = None
    for start in range(0, corpus.shape[0], block):
        part = vectors @ corpus[start : start + block].to(vectors.device, vectors.dtype).T
        scores, rows = part.topk(min(k, part.shape[1]), dim=1)
        rows = rows + start
        if best is not None:
            scores, order = torch.cat([best[0], scores], dim=1).topk(
                min(k, best[0].shape[1] + scores.shape[1]), dim=1
            )
            rows = torch.cat([best[1], rows], dim=1).gather(1, order)
        best = (scores, rows)
    assert best is not None, "an empty corpus"
    return best


def mapped_tensor(vectors: np.ndarray) -> torch.Tensor:
    """A float32 array (a memory-mapped one included) as a tensor over the same memory: pages are
    read when a block is searched, not copied up front."""
    with warnings.catch_warnings():  # read-only memory: nothing writes through this tensor
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))

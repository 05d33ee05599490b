"""Exact top-k by inner product over vectors that need not fit in memory: the corpus (a tensor, or
a `.npy` file opened memory-mapped) is read one block of documents after another, and only one
block, its (queries x block) scores and the running top k are ever held."""

from __future__ import annotations

import mmap
import warnings
from collections.abc import Iterator

import numpy as np
import torch


def blockwise_topk(
    vectors: torch.Tensor, corpus: torch.Tensor | np.ndarray, k: int, block: int = 262_144
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, corpus rows) of each query's top `k` by dot product, searching `block` documents at
    a time: (queries x block) scores in memory, never (queries x corpus). A corpus that is a
    memory-mapped `.npy` file is read block by block with plain reads (`file_blocks`), so its pages
    never stay in this process's memory."""
    best: tuple[torch.Tensor, torch.Tensor] | None = None
    for start, documents in corpus_blocks(corpus, block):
        part = vectors @ documents.to(vectors.device, vectors.dtype).T
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


def corpus_blocks(
    corpus: torch.Tensor | np.ndarray, block: int
) -> Iterator[tuple[int, torch.Tensor]]:
    """(first row, rows) of each block of `block` rows: read from the file of a whole memory-mapped
    array (as np.load opens one), else sliced."""
    if (
        isinstance(corpus, np.memmap)
        and isinstance(corpus.base, mmap.mmap)  # the whole file's map, not a slice of it
        and corpus.filename
        and corpus.ndim == 2
        and corpus.flags.c_contiguous
    ):
        yield from file_blocks(corpus, block)
        return
    if isinstance(corpus, np.ndarray):
        corpus = mapped_tensor(corpus)
    for start in range(0, corpus.shape[0], block):
        yield start, corpus[start : start + block]


def file_blocks(vectors: np.memmap, block: int) -> Iterator[tuple[int, torch.Tensor]]:
    """The rows of a C-ordered memory-mapped matrix, `block` at a time, read from its file into a
    buffer of one block (the kernel's page cache, not this process, keeps the file)."""
    rows, width = vectors.shape
    itemsize = vectors.dtype.itemsize
    with open(vectors.filename, "rb") as handle:
        for start in range(0, rows, block):
            count = min(block, rows - start)
            handle.seek(vectors.offset + start * width * itemsize)
            data = np.fromfile(handle, dtype=vectors.dtype, count=count * width)
            if data.size != count * width:
                raise OSError(f"{vectors.filename}: cut short at row {start}")
            yield start, torch.from_numpy(data.reshape(count, width).astype(np.float32, copy=False))


def mapped_tensor(vectors: np.ndarray) -> torch.Tensor:
    """A float32 array (a memory-mapped one included) as a tensor over the same memory: pages are
    read when a block is searched, not copied up front."""
    with warnings.catch_warnings():  # read-only memory: nothing writes through this tensor
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))

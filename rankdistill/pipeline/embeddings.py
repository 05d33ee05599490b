"""Embedding distillation's teacher targets and training, for `rankdistill run` and `rankdistill train`.

The teacher's vectors of the alignment texts (rankdistill/training/embeddings.py) are encoded by
`rankdistill.indexes.encode.encode_cached`: chunked, each chunk written atomically, a rerun
resumes after the last finished one, and the folder is keyed by the teacher's weights, max
length, normalisation, precision and backend plus a hash of the texts, so another seed, another
run or an index build of the same corpus with the same teacher settings (`<output_dir>/encodings`,
what runs pass as `BuildSettings.chunks_dir`) encodes nothing again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.training.config import TrainConfig


def teacher_targets(config: TrainConfig, cache_root: str | Path, precision: str = "auto", batch_size: int = 32) -> tuple[list[str], np.ndarray, dict[str, Any], dict[str, int]]:
    """(texts, teacher vectors row for row, the teacher encoder's record, texts per kind), after
    `student.max_texts` sampling."""
    from rankdistill.indexes.encode import encode_cached
    from rankdistill.training.embeddings import alignment_texts, sample_rows

    student = config.student
    texts: list[str] = []
    blocks: list[np.ndarray] = []
    kinds: dict[str, int] = {}
    record: dict[str, Any] = {}
    for kind, (ids, kind_texts) in alignment_texts(config).items():
        if not kind_texts:
            continue
        vectors, record = encode_cached(student.teacher, ids, kind_texts, cache_root, student.teacher_max_length, batch_size, precision)
        texts += kind_texts
        blocks.append(vectors)
        kinds[kind] = len(kind_texts)
    targets = np.concatenate(blocks)
    kept = sample_rows(len(texts), student.max_texts, config.seed)
    if len(kept) < len(texts):
        position = 0
        sampled = set(kept)
        for kind, count in kinds.items():
            kinds[kind] = sum(1 for i in range(position, position + count) if i in sampled)
            position += count
        texts, targets = [texts[i] for i in kept], targets[kept]
    teacher = {key: record[key] for key in ("name", "weights_sha256", "max_length", "normalized", "precision", "backend", "dimension")}
    return texts, targets, teacher, kinds


def train_embedding_student(config: TrainConfig, cache_root: str | Path, precision: str = "auto", source: str | None = None) -> Any:
    """Encode (or reuse) the teacher's targets, then train and save the student."""
    from rankdistill.training.embeddings import distill_embeddings

    texts, targets, teacher, kinds = teacher_targets(config, cache_root, precision)
    return distill_embeddings(config, texts, targets, teacher, kinds, source)

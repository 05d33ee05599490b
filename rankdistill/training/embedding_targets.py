"""Embedding distillation's teacher targets and training, for `rankdistill run` and `rankdistill train`.

The teacher's vectors of the alignment texts (rankdistill/training/embeddings.py) are encoded by
`rankdistill.retrieval.encode.encode_cached`: chunked, each chunk written atomically, a rerun
resumes after the last finished one, and the folder is keyed by the teacher's weights, max
length, normalisation, precision and backend plus a hash of the texts, so another seed, another
run or an index build of the same corpus with the same teacher settings (`<output_dir>/encodings`,
what runs pass as `BuildSettings.chunks_dir`) encodes nothing again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.encoders.models import EncodingSettings
from rankdistill.training.config import TrainConfig

SAMPLE_SEED = 0  # the alignment texts' sample: the same for every seed of a config
KL_DOCUMENTS = 100_000  # document_kl's softmax runs over at most this many of the teacher's document vectors (a fixed sample)


def teacher_targets(
    config: TrainConfig, cache_root: str | Path, precision: str = "auto", batch_size: int = 32
) -> tuple[list[str], np.ndarray, dict[str, Any], dict[str, int]]:
    """(texts, teacher vectors row for row, the teacher encoder's record, texts per kind).

    `student.max_texts` keeps a sample of all the texts drawn with a fixed seed (SAMPLE_SEED, not
    the run's), so every seed aligns on the same texts and reads the same cached encodings. The
    corpus is encoded whole (the encoding an index of it shares); other kinds only as sampled."""
    from rankdistill.retrieval.encode import encode_cached
    from rankdistill.training.embeddings import alignment_texts, sample_rows

    student = config.student
    found = {kind: pair for kind, pair in alignment_texts(config).items() if pair[1]}
    total = sum(len(texts) for _, texts in found.values())
    kept = set(sample_rows(total, student.max_texts, SAMPLE_SEED))
    texts: list[str] = []
    blocks: list[np.ndarray] = []
    kinds: dict[str, int] = {}
    record: dict[str, Any] = {}
    position = 0
    for kind, (ids, kind_texts) in found.items():
        rows = [i for i in range(len(kind_texts)) if position + i in kept]
        position += len(kind_texts)
        if not rows:
            continue
        if kind == "documents":
            vectors, record = encode_cached(
                student.teacher,
                ids,
                kind_texts,
                cache_root,
                encoding=EncodingSettings(batch_size, student.teacher_max_length, None, precision),
            )
            vectors = vectors[rows]
        else:
            vectors, record = encode_cached(
                student.teacher,
                [ids[i] for i in rows],
                [kind_texts[i] for i in rows],
                cache_root,
                encoding=EncodingSettings(batch_size, student.teacher_max_length, None, precision),
            )
        texts += [kind_texts[i] for i in rows]
        blocks.append(vectors)
        kinds[kind] = len(rows)
    teacher = {
        key: record[key]
        for key in (
            "name",
            "weights_sha256",
            "max_length",
            "normalized",
            "precision",
            "backend",
            "dimension",
        )
    }
    return texts, np.concatenate(blocks), teacher, kinds


def teacher_documents(
    config: TrainConfig, cache_root: str | Path, precision: str = "auto", batch_size: int = 32
) -> np.ndarray:
    """The teacher's vectors of the corpus (at most KL_DOCUMENTS of them, a fixed sample): the
    index an asymmetric student searches, for `student.document_kl`. The same cached encoding as
    the index build and the `documents` alignment texts."""
    from rankdistill.data.open import corpus_texts
    from rankdistill.retrieval.encode import encode_cached
    from rankdistill.training.embeddings import sample_rows

    ids, texts, _ = corpus_texts(config.data.dataset, config.data_root)
    vectors, _ = encode_cached(
        config.student.teacher,
        ids,
        texts,
        cache_root,
        encoding=EncodingSettings(batch_size, config.student.teacher_max_length, None, precision),
    )
    return vectors[sample_rows(len(ids), KL_DOCUMENTS, SAMPLE_SEED)]


def train_embedding_student(
    config: TrainConfig, cache_root: str | Path, precision: str = "auto", source: str | None = None
) -> Any:
    """Encode (or reuse) the teacher's targets (and its document vectors for `document_kl`), then
    train and save the student."""
    from rankdistill.training.embeddings import distill_embeddings

    texts, targets, teacher, kinds = teacher_targets(config, cache_root, precision)
    documents = (
        teacher_documents(config, cache_root, precision) if config.student.document_kl else None
    )
    return distill_embeddings(config, texts, targets, teacher, kinds, source, documents)

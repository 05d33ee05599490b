"""Embedding-level distillation (LEAF: "Knowledge Distillation of Text Embedding Models with
Teacher-Aligned Representations"): `train.student: {kind: dense, distill: embeddings, teacher: M}`.

The student learns to put texts where the teacher puts them; no labels, no queries needed:

    L = mean_t  dist(P(E_S(t)), E_T(t))        t: alignment texts, E_T(t) encoded once and cached
    dist = MSE (`loss: mse`, default) or 1 - cos (`loss: cosine`): sentence-transformers'
           EmbedDistillLoss (MSELoss is its mse form)
    P    = a learned Dense layer (no activation) onto the teacher's dimension, placed before the
           student's Normalize: `projection: auto` adds it when the dimensions differ, `linear`
           always, `none` never (then differing dimensions are an error). It starts from the
           least-squares (ridge) map of the student's pooled vectors onto the teacher's over up to
           FIT_TEXTS alignment texts, not at random: a random start left SciFact's asymmetric
           student at cosine 0.47 with mpnet after 94 steps (evaluation/studies/14-rankers_and_embedders.md)

Alignment texts (`texts:`): `documents` (the corpus, title + text), `queries` (the queries of
`data.split` when the dataset has that split, never the test split), `sentences` (the corpus
texts split into sentences of 4-64 words: short, query-like), `titles`. `max_texts` keeps a seeded
sample of them all. The teacher's vectors are computed by the caller (`teacher_targets` in
rankdistill/training/embedding_targets.py: chunked, atomic, resumable, keyed by the teacher's weights,
max length, precision and the texts, and shared with index builds of the same corpus).

`serve: student` saves a plain SentenceTransformer (student + projection) that encodes queries and
documents. `serve: teacher-documents` saves the asymmetric Router folder of
rankdistill/encoders/asymmetric.py: query route = student + projection, document route = the teacher,
untouched, so the teacher's index of a corpus is searched by the small query encoder as it is.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from rankdistill.core.errors import UserError
from rankdistill.training.config import TrainConfig, config_dict
from rankdistill.training.finite import FiniteGuard, check_weights

log = logging.getLogger(__name__)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
SENTENCE_WORDS = (4, 64)


def split_sentences(text: str) -> list[str]:
    """Sentences of 4-64 words of a text (a period, ! or ? then a capital, digit or bracket)."""
    low, high = SENTENCE_WORDS
    return [s.strip() for s in SENTENCE_END.split(text) if low <= len(s.split()) <= high]


def alignment_texts(config: TrainConfig) -> dict[str, tuple[list[str], list[str]]]:
    """kind -> (ids, texts) for each kind in `student.texts`; documents keep their corpus ids and
    BEIR's "title text", so their teacher vectors are the ones an index of the corpus holds."""
    from rankdistill.data.beir import join_title_text
    from rankdistill.data.open import open_corpus

    corpus, _ = open_corpus(config.data.dataset, config.data_root)
    doc_ids = list(corpus)
    found: dict[str, tuple[list[str], list[str]]] = {}
    for kind in dict.fromkeys(config.student.texts):
        if kind == "documents":
            found[kind] = (doc_ids, [join_title_text(corpus[d]) for d in doc_ids])
        elif kind == "queries":
            queries = training_queries(config)
            if queries:
                found[kind] = (list(queries), list(queries.values()))
        elif kind == "titles":
            titles = dict.fromkeys(
                t for d in doc_ids if (t := (corpus[d].get("title") or "").strip())
            )
            found[kind] = ([f"title:{i}" for i in range(len(titles))], list(titles))
        else:
            sentences = dict.fromkeys(
                s for d in doc_ids for s in split_sentences(corpus[d].get("text") or "")
            )
            found[kind] = ([f"sentence:{i}" for i in range(len(sentences))], list(sentences))
    if not any(texts for _, texts in found.values()):
        raise UserError(
            f"{config.data.dataset}: no alignment texts of kinds {', '.join(config.student.texts)}"
        )
    return found


def training_queries(config: TrainConfig) -> dict[str, str]:
    """The queries of `data.split` (none when the dataset has no such split; never test)."""
    from rankdistill.data import open_dataset

    if config.data.split == "test":
        raise UserError("data.split: embedding distillation never reads the test queries")
    try:
        return dict(open_dataset(config.data.dataset, config.data.split, config.data_root).queries)
    except UserError as exc:
        log.info("no %s queries to align on: %s", config.data.split, exc)
        return {}


def sample_rows(total: int, limit: int | None, seed: int) -> list[int]:
    """Row numbers kept: all, or a seeded sample of `limit` in their original order."""
    if limit is None or total <= limit:
        return list(range(total))
    return sorted(random.Random(seed).sample(range(total), limit))


def with_projection(model: Any, teacher_dimension: int, projection: str) -> tuple[Any, bool]:
    """The student with a Dense layer onto the teacher's dimension before its Normalize, when
    `projection` asks for one; UserError when the dimensions differ and `projection` is none."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense, Normalize

    dimension = model.get_embedding_dimension()
    if projection == "none":
        if dimension != teacher_dimension:
            raise UserError(
                f"student.projection: none, but the student's embeddings have {dimension} dimensions and the teacher's "
                f"{teacher_dimension}: set projection: auto (a learned Dense layer {dimension} -> {teacher_dimension}) "
                "or choose a student and teacher of equal dimension"
            )
        return model, False
    if projection == "auto" and dimension == teacher_dimension:
        return model, False
    modules = list(model)
    normalize = bool(modules) and isinstance(modules[-1], Normalize)
    body = modules[:-1] if normalize else modules
    dense = Dense(dimension, teacher_dimension, bias=False, activation_function=None)
    projected = SentenceTransformer(
        modules=[*body, dense, *([Normalize()] if normalize else [])],
        device=str(model.device),
        similarity_fn_name=model.similarity_fn_name,
    )
    return projected, True


FIT_TEXTS = 2000
RIDGE = 1e-3


def fit_projection(model: Any, texts: list[str], targets: np.ndarray, batch_size: int = 64) -> None:
    """Set the projection (the Dense layer `with_projection` added) to the ridge solution
    W = argmin ||X W - Y||^2 + r ||W||^2 (r: RIDGE times the mean diagonal of X^T X), X the student's vectors entering it, Y the
    teacher's targets, over a fixed sample of up to FIT_TEXTS texts."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense

    modules = list(model)
    position = next(i for i, m in enumerate(modules) if isinstance(m, Dense))
    body = SentenceTransformer(modules=modules[:position], device=str(model.device))
    rows = sample_rows(len(texts), FIT_TEXTS, 0)
    x = np.asarray(
        body.encode(
            [texts[i] for i in rows],
            batch_size=batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        ),
        dtype=np.float64,
    )
    y = np.asarray(targets[rows], dtype=np.float64)
    gram = x.T @ x
    weights = np.linalg.solve(
        gram + RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram)), x.T @ y
    )  # (d_student, d_teacher)
    with torch.no_grad():
        modules[position].linear.weight.copy_(
            torch.from_numpy(weights.T).to(modules[position].linear.weight)
        )


def alignment_error(
    model: Any,
    texts: list[str],
    targets: np.ndarray,
    batch_size: int = 32,
    documents: np.ndarray | None = None,
) -> dict[str, float]:
    """Mean squared error and mean cosine between the student's and the teacher's vectors; with
    the teacher's `documents`, also document_kl's KL and how many of the teacher's top 10
    documents the student's top 10 holds (mean share)."""
    vectors = np.asarray(
        model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False),
        dtype=np.float32,
    )
    mse = float(np.mean((vectors - targets) ** 2))
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(targets, axis=1)
    cosine = float(np.mean(np.sum(vectors * targets, axis=1) / np.maximum(norms, 1e-12)))
    found = {"mse": round(mse, 8), "cosine": round(cosine, 5), "texts": len(texts)}
    if documents is not None and vectors.shape[1] == documents.shape[1]:
        import torch

        from rankdistill.losses.document_kl import DOCUMENT_KL_SCALE, document_kl

        student, teacher, docs = (
            torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in (vectors, targets, documents)
        )
        found["document_kl"] = round(
            float(document_kl(student, teacher, docs, DOCUMENT_KL_SCALE)), 6
        )
        depth = min(10, len(documents))
        top_s, top_t = (
            torch.topk(x @ docs.T, depth, dim=1).indices.tolist() for x in (student, teacher)
        )
        found["top10_overlap"] = round(
            float(np.mean([len(set(a) & set(b)) / depth for a, b in zip(top_s, top_t)])), 4
        )
    return found


def distill_embeddings(
    config: TrainConfig,
    texts: list[str],
    targets: np.ndarray,
    teacher: dict[str, Any],
    kinds: dict[str, int],
    source: str | None = None,
    documents: np.ndarray | None = None,
) -> Any:
    """Train the student `config` describes to reproduce `targets` (the teacher's vectors of
    `texts`, row for row) and save it; resume from the newest checkpoint if there is one.
    `teacher`: the teacher encoder's record (name, weights_sha256, max_length, ...); `documents`:
    the teacher's document vectors, needed when `student.document_kl` > 0."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import EmbedDistillLoss
    from transformers import set_seed

    from rankdistill.core.atomic import storage_errors
    from rankdistill.core.provenance import provenance
    from rankdistill.encoders.models import resolve_model
    from rankdistill.training.students import load_student
    from rankdistill.training.train import (
        RECORD,
        TrainResult,
        latest_checkpoint,
        save_student,
        training_arguments,
    )

    if len(texts) != len(targets):
        raise UserError(f"{len(texts)} alignment texts but {len(targets)} teacher vectors")
    student_config = config.student
    run_dir = config.run_dir()
    output, checkpoints = run_dir / "student", run_dir / "checkpoints"
    if (output / RECORD).is_file():
        raise UserError(
            f"{output}: a trained student is already there; change 'name' or delete the folder"
        )
    set_seed(config.seed)
    model = load_student(
        student_config, config.trainer.device
    )  # max_length: the training truncation
    inference_length = SentenceTransformer(
        resolve_model(student_config.model), device="cpu"
    ).max_seq_length
    model, projected = with_projection(model, int(targets.shape[1]), student_config.projection)
    probe = sample_rows(len(texts), 256, config.seed + 1)
    probe_texts, probe_targets = [texts[i] for i in probe], targets[probe]
    before = alignment_error(model, probe_texts, probe_targets, documents=documents)
    fitted = None
    if projected:
        fit_projection(model, texts, targets)
        fitted = alignment_error(model, probe_texts, probe_targets, documents=documents)
    if student_config.document_kl:
        import torch

        from rankdistill.losses.document_kl import DocumentKL

        if documents is None or documents.shape[1] != targets.shape[1]:
            raise UserError(
                "student.document_kl needs the teacher's document vectors (of the teacher's dimension)"
            )
        loss = DocumentKL(
            model,
            torch.from_numpy(np.asarray(documents, dtype=np.float32)),
            config.loss,
            weight=student_config.document_kl,
        )
    else:
        loss = EmbedDistillLoss(model, distance_metric=config.loss)
    arguments = training_arguments(config, checkpoints, "dense", False)
    rows = Dataset.from_dict(
        {"text": texts, "label": [row.tolist() for row in np.asarray(targets, dtype=np.float32)]}
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=arguments, train_dataset=rows, loss=loss, callbacks=[FiniteGuard(loss)]
    )
    resume = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
    if resume is not None:
        tqdm.write(f"resuming from {resume}")
    with storage_errors(checkpoints):
        outcome = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    after = alignment_error(model, probe_texts, probe_targets, documents=documents)
    record = {
        "config": config_dict(config),
        "config_file": source,
        "seed": config.seed,
        "mode": f"embedding distillation ({config.loss}), serve: {student_config.serve}",
        "teacher": teacher,
        "data": {
            "texts": len(texts),
            **{f"texts_{kind}": n for kind, n in kinds.items()},
            **({"document_kl_documents": len(documents)} if student_config.document_kl else {}),
        },
        "projection": {"dense": projected, "dimension": int(targets.shape[1])},
        "alignment": {"before": before, "least_squares_projection": fitted, "after": after},
        "resumed_from": resume.name if resume else None,
        "global_step": trainer.state.global_step,
        "train_metrics": outcome.metrics,
        "provenance": provenance(),
    }
    tqdm.write(
        f"alignment on {before['texts']} texts: mse {before['mse']:.6f} -> {after['mse']:.6f}, cosine {before['cosine']:.4f} -> {after['cosine']:.4f}"
        + (
            f", teacher's top-10 documents kept {after['top10_overlap']:.3f}"
            if "top10_overlap" in after
            else ""
        )
    )
    if not trainer.is_world_process_zero():
        return TrainResult(None, record)
    model.eval()
    model.max_seq_length = inference_length  # training truncation is a speed setting
    with storage_errors(output):
        check_weights(model, str(output))
        if student_config.serve == "teacher-documents":
            save_teacher_documents(model, teacher, output, record)
        else:
            save_student(model, output, record)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return TrainResult(output, record)


def save_teacher_documents(
    model: Any, teacher: dict[str, Any], output: Path, record: dict[str, Any]
) -> None:
    """The asymmetric student: query route `model`, document route the teacher as it encoded the
    documents (its max length); staged beside `output`, then renamed into place."""
    from sentence_transformers import SentenceTransformer

    from rankdistill.core.atomic import atomic_write_json
    from rankdistill.encoders.asymmetric import save_asymmetric
    from rankdistill.encoders.models import resolve_model
    from rankdistill.training.train import RECORD

    document_model = SentenceTransformer(resolve_model(teacher["name"]), device=str(model.device))
    if teacher.get("max_length"):
        document_model.max_seq_length = teacher["max_length"]
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    save_asymmetric(
        model,
        document_model,
        staging,
        {"document_model": teacher["name"], "document_weights_sha256": teacher["weights_sha256"]},
    )
    atomic_write_json(staging / RECORD, record)
    if output.exists():
        shutil.rmtree(output)
    os.replace(staging, output)

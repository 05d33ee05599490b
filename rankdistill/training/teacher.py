"""Train a cross-encoder teacher from relevance labels (no pretrained cross-encoder exists offline).

Each training query becomes one list: its judged positives (label 1) and negatives mined from the
first-stage retrievers (label 0), sampled from ranks (skip_top, depth] so that near-duplicates of
the positive at the very top are left out. The list goes to sentence-transformers' CrossEncoder
trainer with ListNetLoss (softmax cross-entropy between label and score distributions). The
defaults are the recipe that beat BM25 as a top-100 reranker on SciFact (0.7173 vs 0.6863,
evaluation/studies/04-teacher_rerank.md): lr 1e-4, warm-up 10%, 2 lists a batch, 1 positive + 7 negatives
from BM25 ranks 3-100, 2 epochs, max length 128, bf16. Negatives from ranks 3-50 only (the
first recipe, ../shared/findings.md) lost to BM25 at depth 100: deep candidates were new to it.

`positives` caps the positives of a list (NFCorpus train judges ~42 documents per query, which
would make each list ~50 pairs long): the highest-graded first, ties in a seeded order per query.
`retrieved_positives` draws a list's positives only from the judged documents the retrievers
return within `depth`, the documents a reranker of that first stage will see; queries with none
are left out. On NFCorpus most judged documents never reach BM25's top 100, and a positive drawn
from all of them shares few words with its query while every negative shares many.

Checkpoints go to `<output>.checkpoints/`; a killed run resumes from the last one. The finished
model is a plain CrossEncoder folder, moved into place only when complete.

Cross-fitting (`folds: k`, in a run config's `teacher.train`): a teacher trained on a query
scores that query's documents almost as its labels, so its lists teach a student little beyond
the judgements. `train_fold_teachers` splits the training queries into k folds (a fixed hash
order, independent of the seed) and trains k models, `fold-i` on every fold but i; the run's
mine stage then labels each fold's queries with the one model that never saw them.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from rankdistill.core.atomic import storage_errors
from rankdistill.core.config import check_fields, checked
from rankdistill.core.errors import UserError
from rankdistill.core.hardware import PRECISIONS
from rankdistill.core.provenance import provenance
from rankdistill.data.beir import BeirDataset
from rankdistill.encoders.models import resolve_model


@dataclass
class TeacherTrainingConfig:
    # the body a cross-encoder teacher is trained from
    base_model: str = checked("all-MiniLM-L6-v2", nonempty=True)
    # first stages whose top `depth` supply each training list's negatives
    retrievers: tuple[str, ...] = checked(("bm25",), nonempty=True)
    # negatives per list
    negatives: int = checked(7, ge=1)
    positives: int | None = checked(
        None, ge=1
    )  # at most this many positives a list (None: all judged)
    retrieved_positives: bool = False  # positives only among judged docs the retrievers return
    # the retrievers' top hits skipped as negatives (likely unjudged positives)
    skip_top: int = checked(2, ge=0)
    # how deep each retriever's list is mined
    depth: int = checked(100, ge=1)
    # training epochs (max_steps > 0 overrides)
    epochs: float = checked(2.0, gt=0)
    max_steps: int = checked(-1, ge=-1)  # > 0 overrides epochs
    # AdamW learning rate
    learning_rate: float = checked(1e-4, gt=0)
    # fraction of steps of linear warm-up
    warmup_ratio: float = checked(0.1, ge=0, lt=1)
    # query lists in a batch
    lists_per_batch: int = checked(2, ge=1)
    # max tokens of a (query, document) pair
    max_length: int = checked(128, ge=1)
    precision: str = checked(
        "auto", choices=PRECISIONS
    )  # auto | float32 | bf16 | fp16 (`bf16: true|false` is an alias)
    # the teacher's training seed (a run sets it from its own seed)
    seed: int = checked(13, ge=0)
    # steps between checkpoints (a killed training resumes from the last)
    save_steps: int = checked(100, ge=1)
    folds: int = checked(1, ge=1)  # > 1: cross-fitted teachers (train_fold_teachers); runs only


def training_lists(dataset: BeirDataset, config: TeacherTrainingConfig) -> list[dict]:
    """Rows of (query, docs, labels) for ListNetLoss, one per training query with a positive."""
    from rankdistill.mining import mine_candidates, positive_ids, sample_negatives
    from rankdistill.mining.sampling import query_rng

    check_fields(config)
    candidates = mine_candidates(
        dataset, list(config.retrievers), config.depth, keep_positives=config.retrieved_positives
    )
    rows = []
    for query_id in dataset.queries:
        judged = dataset.qrels.get(query_id, {})
        judged_positives = positive_ids(judged)
        positives = [d for d in judged_positives if d in dataset.corpus]
        if config.retrieved_positives:
            retrieved = {c.doc_id for c in candidates[query_id]}
            positives = [d for d in positives if d in retrieved]
        if not positives:
            continue
        if config.positives is not None and len(positives) > config.positives:
            order = query_rng(config.seed, query_id).permutation(len(positives)).tolist()
            positives = sorted((positives[i] for i in order), key=lambda d: -judged[d])[
                : config.positives
            ]
        sampled = sample_negatives(
            candidates[query_id],
            set(judged_positives),  # no judged document is a negative, chosen as a positive or not
            query_id=query_id,
            n_top=0,
            n_random=config.negatives,
            top_depth=config.depth,
            skip_top=config.skip_top,
            seed=config.seed,
        )
        if not sampled:
            continue
        docs = [dataset.doc_text(d) for d in positives] + [
            dataset.doc_text(s.doc_id) for s in sampled
        ]
        rows.append(
            {
                "query": dataset.queries[query_id],
                "docs": docs,
                "labels": [1.0] * len(positives) + [0.0] * len(sampled),
            }
        )
    if not rows:
        where = " among the retrieved documents" if config.retrieved_positives else ""
        raise UserError(
            f"{dataset.name}/{dataset.split}: no training query has both a positive{where} and a mined negative"
        )
    return rows


def train_cross_encoder(
    dataset: BeirDataset,
    output: str | Path,
    config: TeacherTrainingConfig,
    device: str | None = None,
) -> Path:
    """Fine-tune a one-logit cross-encoder on `dataset`'s judgements; returns the model folder."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import ListNetLoss

    from rankdistill.core.hardware import resolve_precision, trainer_precision

    check_fields(config)
    output = Path(output)
    if (output / "config.json").is_file():
        raise UserError(
            f"{output}: a trained model is already there; choose another --output or delete it"
        )
    checkpoints = output.with_name(output.name + ".checkpoints")
    torch.manual_seed(config.seed)
    rows = training_lists(dataset, config)
    model = CrossEncoder(
        resolve_model(config.base_model), num_labels=1, max_length=config.max_length, device=device
    )
    arguments = CrossEncoderTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.lists_per_batch,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float below 1 is a fraction of the steps
        **trainer_precision(resolve_precision(config.precision, device)),
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        logging_steps=max(1, config.save_steps // 4),
        report_to="none",
        use_cpu=device == "cpu" or not torch.cuda.is_available(),
        dataloader_drop_last=False,
    )
    from rankdistill.training.finite import FiniteGuard, check_weights

    loss = ListNetLoss(model)
    trainer = CrossEncoderTrainer(
        model=model,
        args=arguments,
        train_dataset=Dataset.from_list(rows),
        loss=loss,
        callbacks=[FiniteGuard(loss)],
    )
    resume = checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    with storage_errors(checkpoints):
        trainer.train(resume_from_checkpoint=True if resume else None)

    check_weights(model, str(output))
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    record = {
        "config": asdict(config),
        "dataset": dataset.name,
        "split": dataset.split,
        "lists": len(rows),
        "query_ids": sorted(dataset.queries),
        "provenance": provenance(),
    }
    (staging / "rankdistill-teacher.json").write_text(json.dumps(record, indent=2))
    from rankdistill.training.model_card import write_model_card

    write_model_card(staging, record)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        shutil.rmtree(output)  # an empty or partial folder: config.json was checked above
    os.replace(staging, output)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return output


FOLDS = "folds.json"


def fold_assignment(query_ids: list[str], folds: int) -> dict[str, int]:
    """Query id -> fold: round robin over the fixed hash order of the ids (the dev split's)."""
    from rankdistill.training.data import dev_order

    return {query_id: i % folds for i, query_id in enumerate(sorted(query_ids, key=dev_order))}


def restricted(dataset: BeirDataset, query_ids: set[str]) -> BeirDataset:
    """`dataset` with only `query_ids` among its queries and judgements (the corpus is shared)."""
    import dataclasses

    return dataclasses.replace(
        dataset,
        queries={q: t for q, t in dataset.queries.items() if q in query_ids},
        qrels={q: j for q, j in dataset.qrels.items() if q in query_ids},
    )


def train_fold_teachers(
    dataset: BeirDataset,
    output: str | Path,
    config: TeacherTrainingConfig,
    device: str | None = None,
) -> list[Path]:
    """Train `config.folds` cross-encoders into `output/fold-i` (each on the other folds' queries)
    and write `output/folds.json` (query id -> fold). Finished folds are kept on a rerun."""
    from rankdistill.core.atomic import atomic_write_json

    output = Path(output)
    assignment = fold_assignment(list(dataset.queries), config.folds)
    if len(set(assignment.values())) < config.folds:
        raise UserError(
            f"{dataset.name}/{dataset.split}: {len(assignment)} queries cannot fill folds: {config.folds}"
        )
    models = []
    for fold in range(config.folds):
        model = output / f"fold-{fold}"
        if not (model / "config.json").is_file():
            train_cross_encoder(
                restricted(dataset, {q for q, f in assignment.items() if f != fold}),
                model,
                config,
                device,
            )
        models.append(model)
    atomic_write_json(output / FOLDS, {"folds": config.folds, "assignment": assignment})
    return models


def read_folds(output: str | Path) -> dict[str, int]:
    return json.loads((Path(output) / FOLDS).read_text(encoding="utf-8"))["assignment"]

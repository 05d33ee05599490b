"""`rankdistill train`: distil a training set into a dense, sparse or cross-encoder student on
sentence-transformers' trainers (a cross-encoder student has a dev evaluation only with
`dev.rerank_depth`: it reranks the dev queries' BM25 candidates; the run's evaluate stage measures
it as a reranker of the test queries).

Layout under `<output_dir>/<name>/`:

    checkpoints/checkpoint-N/   every `save_steps` (the last `save_total_limit` kept); a rerun of a
                                killed job resumes from the newest complete one (its
                                trainer_state.json, written last, is there)
    student/                    the finished student: a plain SentenceTransformer / SparseEncoder
                                folder (loads without rankdistill) plus rankdistill_train.json
                                (config, seed, data counts, dev query ids and metrics, average
                                non-zeros for sparse students, provenance); moved into place only
                                when complete, after which the checkpoints are removed

Because it runs on ST's trainer, `torchrun --nproc_per_node N -m rankdistill.cli train ...` (or
accelerate) trains with DDP unchanged; on CPU the backend is gloo. Every rank builds the same rows
(deterministic), rank 0 writes the student.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback

from rankdistill.core.atomic import atomic_write, storage_errors
from rankdistill.core.errors import UserError
from rankdistill.core.provenance import provenance
from rankdistill.data import (
    BeirDataset,
    load_queries,
    open_dataset,
    open_with_queries,
    with_queries_of,
)
from rankdistill.training.config import TrainConfig, config_dict
from rankdistill.training.data import (
    DevSet,
    build_rows,
    carve_dev_ids,
    check_teacher_spread,
    dev_from_records,
    dev_from_split,
    dev_from_teacher,
    load_records,
    teacher_factor,
    with_bm25_candidates,
)
from rankdistill.training.dev import average_nonzeros, dev_evaluator
from rankdistill.training.finite import FiniteGuard, check_weights
from rankdistill.training.students import build_student

log = logging.getLogger(__name__)
RECORD = "rankdistill_train.json"
LOGGED_BESIDE_LOSS = {
    "loss",
    "grad_norm",
    "learning_rate",
    "epoch",
    "step",
}  # what the trainer logs at every step besides a loss's terms


# Weights that live in the loss, not the model (hidden_mse's projections): the trainer checkpoints
# the model and the optimizer only, so a resumed run would restart them from scratch.
LOSS_STATE = "rankdistill_loss_state.pt"


def loss_own_parameters(loss: Any, model: Any) -> dict[str, Any]:
    """The loss's trainable parameters that are not the model's."""
    model_ids = {id(p) for p in model.parameters()}
    return {
        name: p for name, p in loss.named_parameters() if p.requires_grad and id(p) not in model_ids
    }


class SaveLossState(TrainerCallback):
    """Writes the loss's own weights into each checkpoint the trainer has just saved (atomically)."""

    def __init__(self, parameters: dict[str, Any]):
        self.parameters = parameters

    def on_save(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201 (the TrainerCallback signature)
        import torch

        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            tensors = {name: p.detach().cpu() for name, p in self.parameters.items()}
            with storage_errors(folder):
                atomic_write(
                    folder / LOSS_STATE, lambda handle: torch.save(tensors, handle), binary=True
                )


def restore_loss_state(parameters: dict[str, Any], checkpoint: Path) -> None:
    """Loads the loss's own weights saved beside `checkpoint` into `parameters`."""
    import torch

    file = checkpoint / LOSS_STATE
    if (
        not file.is_file()
    ):  # cut between the trainer's save and ours: the weights restart, said aloud
        log.warning(
            "%s has no %s: the loss's own weights (%s) restart from their initial values",
            checkpoint,
            LOSS_STATE,
            ", ".join(parameters),
        )
        return
    saved = torch.load(file, map_location="cpu")
    if set(saved) != set(parameters):
        raise UserError(
            f"{file}: holds the loss weights {sorted(saved)}, this run's loss has {sorted(parameters)}: "
            "the checkpoints are another run's; delete them or change 'name'"
        )
    with torch.no_grad():
        for name, p in parameters.items():
            p.copy_(saved[name].to(p.device))


@dataclass
class TrainResult:
    student: Path | None  # None on ranks other than 0
    record: dict[str, Any]


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest intact checkpoint: its trainer_state.json (the trainer writes it last) parses
    and every safetensors weight file in it is whole. A damaged one is named in a warning and the
    one before it is used."""
    found = []
    for path in folder.glob("checkpoint-*"):
        step = path.name.rsplit("-", 1)[-1]
        if step.isdigit() and (path / "trainer_state.json").is_file():
            found.append((int(step), path))
    for _, path in sorted(found, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        log.warning("%s: %s; resuming from an earlier checkpoint", path, problem)
    return None


def checkpoint_problem(path: Path) -> str | None:
    """What is wrong with a trainer checkpoint folder, or None."""
    try:
        json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"trainer_state.json unreadable ({error})"
    for weights in path.rglob("*.safetensors"):
        size = weights.stat().st_size
        try:
            with weights.open("rb") as handle:
                length = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(length)) if 0 < length < size else None
        except (OSError, ValueError):
            header = None
        if not isinstance(header, dict):
            return f"{weights.name} has no readable safetensors header"
        end = max(
            (t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0
        )
        if size < 8 + length + end:
            return f"{weights.name} is cut short ({size} bytes of {8 + length + end})"
    return None


def training_dataset(config: TrainConfig) -> BeirDataset:
    """The split the training set was mined from: the dataset's own queries, generated ones
    (`data.queries`) over its corpus, or both (`data.keep_split_queries`)."""
    data = config.data
    if not data.judged:  # the teacher chose the positives: the corpus alone, no qrels file opened
        from rankdistill.data.open import open_corpus

        corpus, source = open_corpus(data.dataset, config.data_root)
        return BeirDataset(Path(data.dataset).name, Path(source), data.split, corpus, {}, {})
    if not data.queries:
        return open_dataset(data.dataset, data.split, config.data_root)
    if not data.keep_split_queries:
        return open_with_queries(data.dataset, data.queries, data.split, config.data_root)
    from rankdistill.mining.generate import SPLIT

    return with_queries_of(
        open_dataset(data.dataset, data.split, config.data_root), data.queries, SPLIT
    )


def prepare_data(
    config: TrainConfig, with_ids: bool = False
) -> tuple[list[dict[str, Any]], dict[str, int], DevSet | None]:
    """Training rows, their counts, and the dev set (None when `dev.queries` is 0); `with_ids`:
    rows also carry query and document ids (`build_rows`)."""
    dataset = training_dataset(config)
    records = load_records(config.data.training_set, dataset)
    dev, held_out = None, set()
    if config.dev.queries > 0:
        if config.dev.split:
            dev_dataset = open_dataset(config.data.dataset, config.dev.split, config.data_root)
            dev = dev_from_split(
                dev_dataset,
                config.dev.queries,
                config.dev.corpus,
                config.dev.distractors,
                config.seed,
            )
        else:
            pool = [r.query_id for r in records]
            if (
                config.data.keep_split_queries
            ):  # a judged dev: a generated query's own source is an easy find
                generated = set(load_queries(Path(config.data.queries) / "queries.jsonl"))
                pool = [q for q in pool if q not in generated]
            dev_ids = carve_dev_ids(
                pool, config.dev.queries, config.seed if config.dev.resample else None
            )
            held_out = set(dev_ids)
            dev = (
                dev_from_records(
                    records,
                    dataset,
                    dev_ids,
                    config.dev.corpus,
                    config.dev.distractors,
                    config.seed,
                )
                if config.data.judged
                else dev_from_teacher(
                    records,
                    dataset,
                    dev_ids,
                    config.dev.teacher_top,
                    config.dev.corpus,
                    config.dev.distractors,
                    config.seed,
                )
            )
            if config.dev.track_judged:
                judged = open_dataset(
                    config.data.dataset, config.dev.track_judged, config.data_root
                ).qrels
                dev = dataclasses.replace(
                    dev,
                    tracked={
                        q: {d for d, g in judged.get(q, {}).items() if g > 0} for q in dev_ids
                    },
                )
    if dev is not None and config.student.kind == "cross-encoder":
        dev = with_bm25_candidates(
            dev, dev_dataset if config.dev.split else dataset, config.dev.rerank_depth
        )
    rows = build_rows(
        records,
        dataset,
        config.data.negatives,
        config.seed,
        held_out,
        config.data.positives,
        with_ids,
        teacher_factor(config, records),
    )
    check_teacher_spread([row["label"] for row in rows.rows], config.loss)
    return rows.rows, rows.counts, dev


def training_arguments(config: TrainConfig, checkpoints: Path, kind: str, evaluate: bool) -> Any:
    import torch

    from rankdistill.core.hardware import resolve_precision, trainer_precision

    if kind == "sparse":
        from sentence_transformers.sparse_encoder import SparseEncoderTrainingArguments as Arguments
    elif kind == "cross-encoder":
        from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments as Arguments
    else:
        from sentence_transformers import SentenceTransformerTrainingArguments as Arguments
    t = config.trainer
    use_cpu = t.device == "cpu" or (t.device is None and not torch.cuda.is_available())
    eval_steps = config.dev.eval_steps or t.save_steps
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1  # set by torchrun / accelerate
    backend = t.ddp_backend or ("gloo" if use_cpu else None)
    return Arguments(
        output_dir=str(checkpoints),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=config.dev.batch_size,
        learning_rate=t.learning_rate,
        warmup_steps=t.warmup_ratio,  # transformers 5: a float below 1 is a fraction of the steps
        lr_scheduler_type="constant_with_warmup" if t.scheduler == "constant" else "linear",
        weight_decay=t.weight_decay,
        **trainer_precision(resolve_precision(t.precision, "cpu" if use_cpu else t.device)),
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        logging_steps=t.logging_steps,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=eval_steps if evaluate else None,
        eval_on_start=evaluate
        and kind == "cross-encoder",  # a reranker's dev curve starts at the untrained student
        report_to="none",
        gradient_checkpointing=t.gradient_checkpointing,
        use_cpu=use_cpu,
        ddp_backend=backend if distributed else None,
        dataloader_drop_last=False,
    )


def train(
    config: TrainConfig, source: str | None = None, callbacks: list[TrainerCallback] | None = None
) -> TrainResult:
    """Train the student `config` describes; resume from the newest checkpoint if there is one."""
    from datasets import Dataset
    from transformers import set_seed

    if config.student.distill == "embeddings":
        raise UserError(
            "student.distill: embeddings trains on teacher embeddings, not a training set: train it with "
            "rankdistill.training.families.train_student (rd.train_student), which encodes the teacher's targets"
        )
    if (
        config.student.kind == "cross-encoder" and config.dev.rerank_depth is None
    ):  # a reranker's dev set needs candidates
        config = dataclasses.replace(config, dev=dataclasses.replace(config.dev, queries=0))
    if config.student.frozen_documents:
        raise UserError(
            "student.frozen_documents: query-side training reads the starting model's corpus vectors: train it with "
            "rankdistill.training.families.train_student (rd.train_student), which encodes the corpus once"
        )
    run_dir = config.run_dir()
    output, checkpoints = run_dir / "student", run_dir / "checkpoints"
    if (output / RECORD).is_file():
        raise UserError(
            f"{output}: a trained student is already there; change 'name' or delete the folder"
        )
    rows, counts, dev = prepare_data(config)
    set_seed(config.seed)
    student = build_student(config.student, config.loss, device=config.trainer.device)
    evaluator = (
        dev_evaluator(
            dev, config.student.kind, config.student.matryoshka_dims, config.dev.batch_size
        )
        if dev
        else None
    )
    arguments = training_arguments(config, checkpoints, config.student.kind, evaluator is not None)
    if config.student.kind == "sparse":
        from sentence_transformers.sparse_encoder import SparseEncoderTrainer as Trainer
    elif config.student.kind == "cross-encoder":
        from sentence_transformers.cross_encoder import CrossEncoderTrainer as Trainer
    else:
        from sentence_transformers import SentenceTransformerTrainer as Trainer
    own = loss_own_parameters(student.loss, student.model)
    trainer = Trainer(
        model=student.model,
        args=arguments,
        train_dataset=Dataset.from_list(rows),
        loss=student.loss,
        evaluator=evaluator,
        callbacks=[
            *([SaveLossState(own)] if own else []),
            FiniteGuard(student.loss),
            *student.callbacks,
            *(callbacks or []),
        ],  # the loss state first
    )
    resume = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
    if resume is not None:
        tqdm.write(f"resuming from {resume}")
        if own:
            restore_loss_state(own, resume)
    with storage_errors(
        checkpoints
    ):  # a checkpoint cut short by a full disk has no trainer_state.json: resume skips it
        outcome = trainer.train(resume_from_checkpoint=str(resume) if resume else None)

    record = {
        "config": config_dict(config),
        "config_file": source,
        "seed": config.seed,
        "training_set": str(config.data.training_set),
        "data": counts,
        "resumed_from": resume.name if resume else None,
        "global_step": trainer.state.global_step,
        "train_metrics": outcome.metrics,
        "world_size": arguments.world_size,
    }
    if not trainer.is_world_process_zero():
        return TrainResult(None, record)
    model = student.model
    if dev is not None:
        record["dev"] = {
            "source": dev.source,
            "query_ids": list(dev.queries),
            "corpus_size": len(dev.corpus),
            "metrics": final_dev_metrics(trainer, evaluator, model),
            "curve": dev_curve(trainer.state.log_history),
        }
    record["loss_curve"] = [
        [entry["step"], round(float(entry["loss"]), 5)]
        for entry in trainer.state.log_history
        if "loss" in entry
    ]
    components = [
        [
            entry["step"],
            {key: value for key, value in entry.items() if key not in LOGGED_BESIDE_LOSS},
        ]
        for entry in trainer.state.log_history
        if "loss" in entry
    ]
    if any(
        parts for _, parts in components
    ):  # a loss of several terms (e.g. scores + hidden_mse): each term's curve
        record["loss_components"] = components
    if config.student.kind == "sparse":
        queries = (
            list(dev.queries.values())[:100]
            if dev
            else list(dict.fromkeys(r["query"] for r in rows))[:100]
        )
        documents = (
            list(dev.corpus.values())[:100]
            if dev
            else list(dict.fromkeys(r["positive"] for r in rows))[:100]
        )
        record["average_nonzeros"] = average_nonzeros(
            model, queries, documents, config.dev.batch_size
        )
    record["provenance"] = provenance()
    with storage_errors(output):
        save_student(model, output, record)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return TrainResult(output, record)


def final_dev_metrics(trainer: Any, evaluator: Any, model: Any) -> dict[str, float]:
    """The dev metrics of the final weights: from the trainer's log when it evaluated at the last
    step, else by running the evaluator now."""
    step = trainer.state.global_step
    for entry in reversed(trainer.state.log_history):
        if entry.get("step") == step and any(k.startswith("eval_dev") for k in entry):
            return {
                k[len("eval_") :]: float(v) for k, v in entry.items() if k.startswith("eval_dev")
            }
    return {k: float(v) for k, v in evaluator(model).items()}


def dev_curve(log_history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Every dev evaluation of the run (step 0 too when the trainer evaluated before training)."""
    return [
        {
            "step": entry["step"],
            **{
                k[len("eval_") :]: round(float(v), 5)
                for k, v in entry.items()
                if k.startswith("eval_dev")
            },
        }
        for entry in log_history
        if any(k.startswith("eval_dev") for k in entry)
    ]


def save_student(model: Any, output: Path, record: dict[str, Any]) -> None:
    """Save to a staging folder beside `output`, then rename it into place."""
    from rankdistill.core.atomic import atomic_write_json
    from rankdistill.training.model_card import write_model_card

    check_weights(model, str(output))
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    write_model_card(staging, record)
    atomic_write_json(staging / RECORD, record)
    if output.exists():  # a leftover without RECORD (checked at the start): not a finished student
        shutil.rmtree(output)
    os.replace(staging, output)

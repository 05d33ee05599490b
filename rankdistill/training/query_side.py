"""Query-side distillation over a frozen document index (`train.student.frozen_documents: true`).

The corpus is encoded once by the starting model (the caller hands the vectors over: in
`rankdistill run` they are the index stage's, built before training). Only a copy of the model
that encodes queries trains; documents never pass through a model here, so a step costs one
query-encoder forward and backward, and every corpus document is a free negative:

    s(q, d) = cos(E_q(q), v_d)          v_d frozen, E_q trained (query max length `student.max_length`)
    L = sum_parts w * part              parts from the `loss:` spec, with
        listwise parts (listwise_kl, margin_mse, ...): their score_loss over each row's list, on
                        scale * s(q, [d+, d_1..d_n]) against the teacher's scores
        corpus parts (a loss with `corpus_loss`): over the WHOLE corpus (scale * s(q, every v_d));
                        infonce: -log softmax at d+; teacher_nce: cross-entropy against the
                        teacher's softmax over the row's list; the other positives of the same
                        query (rows sharing it) are masked

Training: AdamW, linear warm-up then linear decay (or flat: `trainer.scheduler: constant`), fixed batch order per (seed, epoch). After
every epoch the dev queries (carved from the training queries, or `dev.split`) are searched over
the whole frozen corpus and nDCG@10 is recorded (`dev_curve`); then a checkpoint (query weights,
optimizer, scheduler, RNG states) is written atomically, so a killed run resumes at the last
finished epoch with the same result.

With `student.anchor: w` > 0 each step also encodes as many corpus documents (a fixed sample of
ANCHOR_TEXTS, cut at the query max length) and adds w * mean(1 - cos(E_q(d), E_q0(d))), E_q0 the
starting model, encoded once before the first step: the query encoder may move on queries, not on
texts that read like documents.

With `student.interpolate: a` < 1 the trained query weights are mixed with the starting model's
before saving (WiSE-FT), and the dev set is measured once more on the mixed model.

The student is saved by `rankdistill.encoders.asymmetric.save_asymmetric`: a Router folder whose query
route is the trained encoder (saved with the starting model's max length: training truncation is
a speed setting) and whose document route is the starting model, freshly loaded, untouched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from rankdistill.core.errors import UserError
from rankdistill.data.resolve import dataset_info
from rankdistill.retrieval.search import blockwise_topk, mapped_tensor
from rankdistill.training.config import TrainConfig, config_dict
from rankdistill.training.corpus_sampling import (
    DEFAULT_SAMPLE,
    FULL_SOFTMAX_LIMIT,
    BatchColumns,
    full_columns,
    other_positives,
    sampled_columns,
)
from rankdistill.training.data import DevSet

log = logging.getLogger(__name__)
CHECKPOINT = "query-side.pt"
ANCHOR_TEXTS = 4096  # corpus documents `student.anchor` holds in place (a fixed sample, the same for every seed)


@dataclass
class FrozenDocuments:
    """A corpus encoded once: `vectors[i]` is document `doc_ids[i]`, as the index stores it."""

    doc_ids: list[str]
    vectors: np.ndarray  # (N, d) float32; normalised when the model's similarity is cosine
    weights_sha256: str  # of the model that encoded them (must be the starting model)
    max_length: int | None  # the documents' max length when they were encoded
    source: str  # where they were read from, for the record


def interpolate_weights(model: torch.nn.Module, starting: torch.nn.Module, a: float) -> None:
    """`model`'s floating-point weights become (1 - a) * `starting`'s + a * its own (same architecture)."""
    base = starting.state_dict()
    mixed = {
        k: (1 - a) * base[k].to(v.dtype) + a * v if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    model.load_state_dict(mixed)


def own_documents_masked(
    others: list[list[int]], query_ids: list[str], documents: FrozenDocuments
) -> list[list[int]]:
    """`others` (the corpus rows each training row masks out of its corpus-level terms) plus the
    row of the query's own document, where the corpus holds one under the query's id: BEIR's rule
    for ArguAna, whose queries are corpus documents. Unmasked, the identical text is a negative and
    training pushes every query away from itself."""
    row_of = {doc_id: i for i, doc_id in enumerate(documents.doc_ids)}
    return [
        sorted({*masked, row_of[q]}) if q in row_of else masked
        for masked, q in zip(others, query_ids, strict=True)
    ]


def row_positions(rows: list[dict[str, Any]], documents: FrozenDocuments) -> torch.Tensor:
    """(rows, 1 + n) corpus row of each row's documents, positive first."""
    position = {doc_id: i for i, doc_id in enumerate(documents.doc_ids)}
    missing = sorted({d for row in rows for d in row["doc_ids"] if d not in position})
    if missing:
        raise UserError(
            f"{documents.source}: {len(missing)} training documents are not among the frozen vectors (e.g. {missing[0]!r}): another corpus?"
        )
    return torch.tensor([[position[d] for d in row["doc_ids"]] for row in rows], dtype=torch.long)


class QuerySideLoss:
    """The loss above, from a `loss:` spec; `__call__(query_vectors, rows)` -> (total, parts)."""

    def __init__(self, spec: Any, model: Any):
        from rankdistill.losses import LOSSES, parse_loss_spec

        self.parts = {
            name: (weight, LOSSES[name](model, **params))
            for name, (weight, params) in parse_loss_spec(spec).items()
        }
        for name, (_, part) in self.parts.items():
            if part.similarity != "cosine":
                raise UserError(
                    f"loss {name!r}: query-side training scores with the frozen vectors' cosine, not {part.similarity!r}"
                )

    def __call__(
        self,
        queries: torch.Tensor,
        corpus: torch.Tensor,
        batch: BatchColumns,
        teacher: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of one batch against its corpus columns (all of them, or a sample:
        rankdistill/training/corpus_sampling.py)."""
        every = batch.columns.numel() == corpus.shape[0]
        documents = corpus if every else corpus.index_select(0, batch.columns)
        similarity = queries.float() @ documents.T  # (B, C): both sides normalised
        listed = similarity.gather(1, batch.positions)  # (B, 1 + n), positive first
        total, logged = torch.zeros((), dtype=torch.float32), {}
        for name, (weight, part) in self.parts.items():
            if hasattr(part, "corpus_loss"):
                logits = part.scale * similarity + batch.correction  # logQ: 0 for listed columns
                value = part.corpus_loss(logits, batch.positions, teacher, batch.masked)
            else:
                value = part.score_loss(part.scale * listed, teacher)
            total = total + weight * value
            logged[name] = float(value.detach())
        return total, logged


def _encode_queries(model: Any, texts: list[str]) -> torch.Tensor:
    features = model.preprocess(texts)
    features = {
        k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()
    }
    return model(features)["sentence_embedding"]


def anchor_texts(
    dataset: str, data_root: str | Path | None, limit: int = ANCHOR_TEXTS
) -> list[str]:
    """A fixed sample (seed 0) of up to `limit` of the corpus's documents, as BEIR's "title text"."""
    from rankdistill.data.beir import join_title_text
    from rankdistill.data.open import open_corpus
    from rankdistill.training.embeddings import sample_rows

    corpus, _ = open_corpus(dataset, data_root)
    doc_ids = list(corpus)
    return [join_title_text(corpus[doc_ids[i]]) for i in sample_rows(len(doc_ids), limit, 0)]


def encode_texts(model: Any, texts: list[str], batch_size: int = 64) -> torch.Tensor:
    """`model`'s vectors of `texts` as they are now (eval mode, no gradient), float32; training mode after."""
    model.eval()
    with torch.no_grad():
        vectors = torch.cat(
            [
                _encode_queries(model, texts[i : i + batch_size]).float()
                for i in range(0, len(texts), batch_size)
            ]
        )
    model.train()
    return vectors


def anchor_loss(vectors: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """mean(1 - cos(vectors, targets)), row for row."""
    return (1 - torch.nn.functional.cosine_similarity(vectors.float(), targets, dim=-1)).mean()


def dev_ndcg(
    model: Any,
    dev: DevSet,
    documents: FrozenDocuments,
    corpus: torch.Tensor,
    batch_size: int = 64,
    relevant: dict[str, set[str]] | None = None,
    ignore_identical: bool = False,
) -> float:
    """nDCG@10 of the dev queries searched over the whole frozen corpus (binary judgements:
    `dev.relevant`, or `relevant`)."""
    sets = [relevant or dev.relevant]
    return dev_ndcgs(model, dev, documents, corpus, batch_size, sets, ignore_identical)[0]


def dev_ndcgs(
    model: Any,
    dev: DevSet,
    documents: FrozenDocuments,
    corpus: torch.Tensor,
    batch_size: int,
    judgements: list[dict[str, set[str]]],
    ignore_identical: bool = False,
) -> list[float]:
    """The dev queries searched once, scored against each set of binary judgements;
    `ignore_identical`: a query's own document is not a hit (BEIR's ArguAna rule)."""
    from rankdistill.metrics import evaluate_run

    ids = list(dev.queries)
    vectors = encode_texts(model, [dev.queries[q] for q in ids], batch_size)
    scores, rows = blockwise_topk(vectors, corpus, 100)
    run = {
        q: {documents.doc_ids[r]: float(s) for s, r in zip(scores[i].tolist(), rows[i].tolist())}
        for i, q in enumerate(ids)
    }
    return [
        float(
            evaluate_run(
                {q: dict.fromkeys(relevant.get(q, ()), 1) for q in ids}, run, ignore_identical
            ).aggregate["nDCG@10"]
        )
        for relevant in judgements
    ]


@contextlib.contextmanager
def query_length(model: Any, length: int | None) -> Iterator[None]:
    """`model` encodes with max length `length` inside the block (as it will at inference), then
    with its training length again."""
    saved = model.max_seq_length
    if length:
        model.max_seq_length = length
    try:
        yield
    finally:
        model.max_seq_length = saved


def curve_point(
    model: Any,
    dev: DevSet,
    documents: FrozenDocuments,
    corpus: torch.Tensor,
    epoch: int,
    step: int,
    length: int | None = None,
    ignore_identical: bool = False,
) -> dict[str, Any]:
    """One point of the dev curve: nDCG@10 against the dev judgements (the teacher's, without
    judgements), and against `dev.tracked` (dev.track_judged) when set, which nothing selects by.
    Dev queries are encoded at `length`, the inference max length: a student trained on queries
    cut at 64 tokens is measured on the whole query, as it will be searched (ArguAna's arguments
    run to 400 tokens: measured cut, a student that lost 0.05 looked like a gain)."""
    sets = [dev.relevant] + ([dev.tracked] if dev.tracked is not None else [])
    with query_length(model, length):
        values = dev_ndcgs(model, dev, documents, corpus, 64, sets, ignore_identical)
    point = {"epoch": epoch, "step": step, "ndcg@10": round(values[0], 4)}
    if dev.tracked is not None:
        point["judged_ndcg@10"] = round(values[1], 4)
    return point


CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "rng", "state")
STATE_KEYS = ("epoch", "step", "dev_curve", "log", "seconds")


def _previous(path: Path) -> Path:
    return path.with_name(f"{path.stem}.previous{path.suffix}")


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write the epoch's checkpoint atomically, keeping the one before it as a fallback."""
    partial = path.with_name(f".{path.name}.tmp")
    torch.save(state, partial)
    if path.is_file():
        os.replace(path, _previous(path))
    os.replace(partial, path)


def _checkpoint_problem(path: Path, device: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the checkpoint, None), or (None, what is wrong with it)."""
    try:
        saved = torch.load(path, map_location=device, weights_only=False)
    except Exception as error:  # torch raises many types for a cut or garbled file
        return (
            None,
            f"unreadable ({type(error).__name__}: {str(error).splitlines()[0][:120] if str(error) else ''})",
        )
    if not isinstance(saved, dict) or any(key not in saved for key in CHECKPOINT_KEYS):
        return None, f"not a query-side checkpoint (needs {', '.join(CHECKPOINT_KEYS)})"
    state = saved["state"]
    if (
        not isinstance(state, dict)
        or any(key not in state for key in STATE_KEYS)
        or not isinstance(state["epoch"], int)
    ):
        return None, f"its training state lacks {', '.join(STATE_KEYS)}"
    return saved, None


def load_checkpoint(path: Path, device: str) -> dict[str, Any] | None:
    """The newest intact checkpoint: `path`, else the one saved before it; a broken file is
    named in a warning and set aside (`*.broken`), and None means training starts over."""
    for candidate in (path, _previous(path)):
        if not candidate.is_file():
            continue
        saved, problem = _checkpoint_problem(candidate, device)
        if saved is not None:
            return saved
        log.warning("%s: %s; set aside as %s.broken", candidate, problem, candidate.name)
        os.replace(candidate, candidate.with_name(f"{candidate.name}.broken"))
    return None


def train_query_side(
    config: TrainConfig, documents: FrozenDocuments, source: str | None = None
) -> Any:
    """Train the query encoder `config` describes against `documents`; resume from the
    checkpoint if one is there. Returns a TrainResult with the saved student folder."""
    from transformers import (
        get_constant_schedule_with_warmup,
        get_linear_schedule_with_warmup,
        set_seed,
    )

    from rankdistill.core.atomic import atomic_write_json
    from rankdistill.core.fingerprints import weights_hash
    from rankdistill.core.hardware import inference_autocast, resolve_precision
    from rankdistill.core.provenance import provenance
    from rankdistill.encoders.asymmetric import save_asymmetric
    from rankdistill.encoders.models import resolve_model
    from rankdistill.retrieval.dense import normalizes
    from rankdistill.training.finite import check_gradients, check_loss, check_weights
    from rankdistill.training.model_card import write_model_card
    from rankdistill.training.students import load_student
    from rankdistill.training.train import RECORD, TrainResult, prepare_data

    run_dir = config.run_dir()
    output, checkpoints = run_dir / "student", run_dir / "checkpoints"
    if (output / RECORD).is_file():
        raise UserError(
            f"{output}: a trained student is already there; change 'name' or delete the folder"
        )
    starting = resolve_model(config.student.model)
    if documents.weights_sha256 != weights_hash(starting):
        raise UserError(
            f"{documents.source}: the frozen vectors were not made by the starting model {config.student.model!r}"
        )
    rows, counts, dev = prepare_data(config, with_ids=True)
    set_seed(config.seed)
    t = config.trainer
    device = t.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_student(config.student, device)  # max_length: the training queries' truncation
    if not normalizes(model):
        raise UserError(
            f"{config.student.model}: query-side training needs a cosine-similarity model (normalised vectors)"
        )
    from sentence_transformers import SentenceTransformer

    document_model = SentenceTransformer(
        starting, device=device
    )  # the starting model, untouched: the document route
    inference_length = (
        document_model.max_seq_length
    )  # queries at inference: the starting model's max length
    if documents.max_length:
        document_model.max_seq_length = documents.max_length
    corpus = mapped_tensor(documents.vectors).to(device)
    positions = row_positions(rows, documents).to(device)
    teacher = torch.tensor([row["label"] for row in rows], dtype=torch.float32, device=device)
    others = other_positives([row["query_id"] for row in rows], positions[:, 0].tolist())
    ignore_identical = dataset_info(config.data.dataset).ignore_identical_ids
    if ignore_identical:  # ArguAna: a query's own document is no negative (mining left it out too)
        others = own_documents_masked(others, [row["query_id"] for row in rows], documents)
    sample = config.student.corpus_negatives
    if sample is None and corpus.shape[0] > FULL_SOFTMAX_LIMIT:
        sample = DEFAULT_SAMPLE
        log.warning(
            "%d frozen documents: corpus negatives are sampled (%d a step, logQ-corrected); set "
            "student.corpus_negatives to choose",
            corpus.shape[0],
            sample,
        )
    queries = [row["query"] for row in rows]
    loss = QuerySideLoss(config.loss, model)
    steps_per_epoch = -(-len(rows) // t.batch_size)
    epochs = int(np.ceil(t.epochs)) if t.max_steps <= 0 else -(-t.max_steps // steps_per_epoch)
    total_steps = t.max_steps if t.max_steps > 0 else int(round(t.epochs * steps_per_epoch))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=t.learning_rate, weight_decay=t.weight_decay
    )
    warmup = int(t.warmup_ratio * total_steps)
    if t.scheduler == "constant":
        scheduler = get_constant_schedule_with_warmup(optimizer, warmup)
    else:
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    precision = resolve_precision(t.precision, device)
    anchored, anchor_vectors = [], None
    if config.student.anchor:  # before any resume: the targets are the starting model's
        anchored = anchor_texts(config.data.dataset, config.data_root)
        with inference_autocast(torch.device(device).type, precision):
            anchor_vectors = encode_texts(model, anchored)
        tqdm.write(
            f"anchor: {len(anchored)} corpus documents held at the starting model's query vectors (weight {config.student.anchor})"
        )

    state = {"epoch": 0, "step": 0, "dev_curve": [], "log": [], "seconds": 0.0}
    best_weights = None  # trainer.select: best_dev: the query weights of the best dev epoch so far
    if t.select == "best_dev" and dev is None:
        raise UserError("trainer.select: best_dev needs dev queries (dev.queries > 0)")
    resume = checkpoints / CHECKPOINT
    saved = load_checkpoint(resume, device)
    if saved is not None:
        try:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["rng"])
        except (RuntimeError, KeyError, ValueError, TypeError) as error:
            raise UserError(
                f"{resume}: does not fit this training run ({str(error).splitlines()[0][:160]}); delete "
                f"{checkpoints} to start over"
            ) from None
        best_weights = saved.get("best_model")
        state = saved["state"]
        tqdm.write(f"resuming query-side training after epoch {state['epoch']}")
    if (
        dev is not None and not state["dev_curve"]
    ):  # the starting point: epoch 0 is the zero-shot model
        with inference_autocast(torch.device(device).type, precision):
            state["dev_curve"].append(
                curve_point(model, dev, documents, corpus, 0, 0, inference_length, ignore_identical)
            )
        tqdm.write(f"epoch 0/{epochs}: dev nDCG@10 {state['dev_curve'][0]['ndcg@10']:.4f}")
    model.train()
    for epoch in range(state["epoch"], epochs):
        started = time.perf_counter()
        order = torch.randperm(
            len(rows), generator=torch.Generator().manual_seed(config.seed * 1000 + epoch)
        ).tolist()
        if anchored:
            anchor_order = torch.randperm(
                len(anchored),
                generator=torch.Generator().manual_seed(config.seed * 1000 + epoch + 500),
            ).tolist()
        for first in range(0, len(order), t.batch_size):
            if state["step"] >= total_steps:
                break
            batch = order[first : first + t.batch_size]
            with inference_autocast(torch.device(device).type, precision):
                vectors = _encode_queries(model, [queries[i] for i in batch])
            listed, known = positions[batch], [others[i] for i in batch]
            if sample:  # a generator per step: the same draws after a resume
                draws = torch.Generator().manual_seed(config.seed * 1_000_003 + state["step"])
                columns = sampled_columns(listed, known, corpus.shape[0], sample, draws)
            else:
                columns = full_columns(listed, known, corpus.shape[0])
            value, parts = loss(vectors, corpus, columns, teacher[batch])
            if anchored:
                held = [anchor_order[(first + i) % len(anchored)] for i in range(len(batch))]
                with inference_autocast(torch.device(device).type, precision):
                    drift = anchor_loss(
                        _encode_queries(model, [anchored[i] for i in held]), anchor_vectors[held]
                    )
                value = value + config.student.anchor * drift
                parts["anchor"] = float(drift.detach())
            check_loss(value, state["step"] + 1, parts)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            check_gradients(model, state["step"] + 1)
            optimizer.step()
            scheduler.step()
            state["step"] += 1
            if state["step"] % t.logging_steps == 0:
                state["log"].append(
                    {
                        "step": state["step"],
                        "loss": float(value.detach()),
                        **parts,
                        "learning_rate": scheduler.get_last_lr()[0],
                    }
                )
                log.info("query-side step %d: %s", state["step"], state["log"][-1])
        state["epoch"] = epoch + 1
        state["seconds"] += time.perf_counter() - started
        if dev is not None:
            with inference_autocast(torch.device(device).type, precision):
                state["dev_curve"].append(
                    curve_point(
                        model,
                        dev,
                        documents,
                        corpus,
                        epoch + 1,
                        state["step"],
                        inference_length,
                        ignore_identical,
                    )
                )
            score = state["dev_curve"][-1]["ndcg@10"]
            tqdm.write(f"epoch {epoch + 1}/{epochs}: step {state['step']}, dev nDCG@10 {score:.4f}")
            if t.select == "best_dev" and score > max(
                p["ndcg@10"] for p in state["dev_curve"][:-1]
            ):
                best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                state["best_epoch"] = epoch + 1
        checkpoints.mkdir(parents=True, exist_ok=True)
        _save_checkpoint(
            resume,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": torch.get_rng_state(),
                "state": state,
                "best_model": best_weights,
            },
        )

    record = {
        "config": config_dict(config),
        "config_file": source,
        "seed": config.seed,
        "training_set": str(config.data.training_set),
        "data": counts,
        "mode": "query-side (frozen documents)",
        "frozen_documents": {
            "source": documents.source,
            "count": len(documents.doc_ids),
            "weights_sha256": documents.weights_sha256,
        },
        "global_step": state["step"],
        "epochs": state["epoch"],
        "train_seconds": round(state["seconds"], 1),
        "log": state["log"],
        "precision": precision,
    }
    if anchored:
        with inference_autocast(torch.device(device).type, precision):
            record["anchor"] = {
                "weight": config.student.anchor,
                "documents": len(anchored),
                "final_cosine": round(
                    1 - float(anchor_loss(encode_texts(model, anchored), anchor_vectors)), 5
                ),
            }
    if dev is not None:
        record["dev"] = {
            "source": dev.source,
            "query_ids": list(dev.queries),
            "corpus_size": len(documents.doc_ids),
            "metrics": {"dev_cosine_ndcg@10": state["dev_curve"][-1]["ndcg@10"]},
            "curve": state["dev_curve"],
        }
        if (
            dev.tracked is not None
        ):  # a study: this run read the dev queries' judgements (they selected nothing)
            record["dev"]["judgements_read_for_tracking"] = config.dev.track_judged
    record["provenance"] = provenance()
    if t.select == "best_dev":
        # epoch 0 (the starting model) counts: if no epoch beat it, the starting weights are kept
        chosen = state.get("best_epoch", 0)
        model.load_state_dict(
            best_weights if best_weights is not None else document_model.state_dict()
        )
        record["dev"]["selected"] = {
            "rule": "best dev nDCG@10 (ties: the earlier epoch)",
            "epoch": chosen,
            "ndcg@10": state["dev_curve"][chosen]["ndcg@10"],
        }
        record["dev"]["metrics"]["dev_cosine_ndcg@10"] = state["dev_curve"][chosen]["ndcg@10"]
        tqdm.write(
            f"selected epoch {chosen}: dev nDCG@10 {state['dev_curve'][chosen]['ndcg@10']:.4f}"
        )
    model.eval()
    if config.student.interpolate != 1.0:
        interpolate_weights(model, document_model, config.student.interpolate)
        if dev is not None:
            with (
                inference_autocast(torch.device(device).type, precision),
                query_length(model, inference_length),
            ):
                record["dev"]["interpolated"] = {
                    "interpolate": config.student.interpolate,
                    "ndcg@10": round(
                        dev_ndcg(model, dev, documents, corpus, ignore_identical=ignore_identical),
                        4,
                    ),
                }
            record["dev"]["metrics"]["dev_cosine_ndcg@10"] = record["dev"]["interpolated"][
                "ndcg@10"
            ]
            tqdm.write(
                f"interpolated {config.student.interpolate}: dev nDCG@10 {record['dev']['interpolated']['ndcg@10']:.4f}"
            )
    model.max_seq_length = inference_length
    check_weights(model, str(output))
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    save_asymmetric(
        model,
        document_model,
        staging,
        {
            "document_model": config.student.model,
            "document_weights_sha256": documents.weights_sha256,
        },
    )
    write_model_card(staging, record)
    atomic_write_json(staging / RECORD, record)
    if output.exists():
        shutil.rmtree(output)
    os.replace(staging, output)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return TrainResult(output, record)


def read_dev_curve(student: str | Path) -> list[dict[str, Any]]:
    """The per-epoch dev curve a query-side student recorded (empty without dev queries)."""
    from rankdistill.training.train import RECORD

    record = json.loads((Path(student) / RECORD).read_text(encoding="utf-8"))
    return record.get("dev", {}).get("curve", [])

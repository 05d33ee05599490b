"""Training a cross-encoder teacher from labels: it learns the training lists and saves a plain folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankdistill.core.errors import UserError
from rankdistill.data import load_dataset
from rankdistill.training.teacher import TeacherTrainingConfig, train_cross_encoder, training_lists
from tests.conftest import write_beir


def top1_accuracy(model, rows: list[dict]) -> float:
    hits = []
    for row in rows:
        scores = model.predict([(row["query"], doc) for doc in row["docs"]])
        hits.append(row["labels"][int(np.argmax(scores))] == 1.0)
    return float(np.mean(hits))


def test_trained_teacher_learns_its_lists(
    tmp_path: Path, splade_tiny: str, tiny_dense_model: str
) -> None:
    import torch
    from sentence_transformers import CrossEncoder

    dataset = load_dataset(write_beir(tmp_path / "tiny", split="train"), "train")
    config = TeacherTrainingConfig(
        base_model=splade_tiny,
        retrievers=(f"dense:{tiny_dense_model}",),
        negatives=3,
        skip_top=0,
        depth=10,
        max_steps=40,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        lists_per_batch=2,
        max_length=64,
        precision="float32",
        save_steps=20,
    )
    rows = training_lists(dataset, config)
    assert len(rows) == 4 and all(row["labels"].count(0.0) == 3 for row in rows)

    torch.manual_seed(config.seed)
    before = top1_accuracy(
        CrossEncoder(splade_tiny, num_labels=1, max_length=64, device="cpu"), rows
    )
    output = train_cross_encoder(dataset, tmp_path / "teacher", config, device="cpu")
    trained = CrossEncoder(str(output), device="cpu")
    assert top1_accuracy(trained, rows) == 1.0 > before
    assert (output / "rankdistill-teacher.json").is_file()
    from huggingface_hub import ModelCard

    card = ModelCard.load(output / "README.md")  # a model card: base model, data, loss, seed
    facts = card.data.rankdistill
    assert facts["base_model"] == splade_tiny and facts["loss"] == {"listnet": {}}
    assert facts["training_queries"] == "4 judged queries of train" and facts["seed"] == 13
    assert "a cross-encoder teacher fine-tuned on judged lists" in card.text
    assert not (tmp_path / "teacher.checkpoints").exists()
    with pytest.raises(UserError, match="already there"):
        train_cross_encoder(dataset, output, config, device="cpu")


def test_positives_per_list_are_capped_highest_grade_first(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d4": 1, "d7": 2, "d2": 1}, "q3": {"d8": 1, "d3": 1, "d10": 1}}
    dataset = load_dataset(write_beir(tmp_path / "tiny", qrels=qrels, split="train"), "train")
    base = dict(retrievers=(f"dense:{tiny_dense_model}",), negatives=2, skip_top=0, depth=10)
    uncapped = {row["query"]: row for row in training_lists(dataset, TeacherTrainingConfig(**base))}
    capped = {
        row["query"]: row
        for row in training_lists(dataset, TeacherTrainingConfig(**base, positives=1))
    }
    tides = "what causes ocean tides"
    assert uncapped[tides]["labels"].count(1.0) == 3
    assert capped[tides]["labels"].count(1.0) == 1
    assert capped[tides]["docs"][0] == dataset.doc_text("d7")  # the only grade-2 document
    assert all(
        row["labels"].count(1.0) == 1 and row["labels"].count(0.0) == 2 for row in capped.values()
    )
    again = {
        row["query"]: row
        for row in training_lists(dataset, TeacherTrainingConfig(**base, positives=1))
    }
    assert again == capped  # seeded
    with pytest.raises(UserError, match="positives: must be >= 1, got 0"):
        training_lists(dataset, TeacherTrainingConfig(**base, positives=0))


def test_retrieved_positives_come_from_the_first_stage_and_no_judged_doc_is_a_negative(
    tmp_path: Path,
) -> None:
    from rankdistill.mining import mine_candidates

    qrels = {
        "q1": {"d1": 1, "d9": 1},
        "q2": {"d4": 1, "d7": 2, "d2": 1},
        "q3": {"d8": 1, "d3": 1, "d10": 1},
    }
    dataset = load_dataset(write_beir(tmp_path / "tiny", qrels=qrels, split="train"), "train")
    base = dict(retrievers=("bm25",), negatives=2, skip_top=0, depth=3)
    retrieved = {
        q: {c.doc_id for c in cands}
        for q, cands in mine_candidates(dataset, ["bm25"], 3, keep_positives=True).items()
    }
    texts = {dataset.doc_text(d): d for d in dataset.corpus}
    everything = training_lists(dataset, TeacherTrainingConfig(**base))
    rows = training_lists(dataset, TeacherTrainingConfig(**base, retrieved_positives=True))
    by_text = {text: q for q, text in dataset.queries.items()}
    kept = 0
    for row in rows:
        query_id = by_text[row["query"]]
        docs = [texts[d] for d in row["docs"]]
        positives = [d for d, label in zip(docs, row["labels"]) if label == 1.0]
        negatives = [d for d, label in zip(docs, row["labels"]) if label == 0.0]
        assert positives and set(positives) <= retrieved[query_id] & set(qrels[query_id])
        assert not set(negatives) & set(qrels[query_id])
        kept += len(positives)
    assert kept < sum(
        row["labels"].count(1.0) for row in everything
    )  # some judged docs are out of BM25's top 3

"""A trained student's README.md is a model card: base model, teacher, training data, loss and,
after a run, its evaluation; sentence-transformers loads the folder as before, and filling the
card in after the train stage does not make the run redo that stage."""

from __future__ import annotations

from pathlib import Path

from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import run_pipeline
from tests.conftest import TINY_CORPUS, write_beir
from tests.test_label_free import TEST_QRELS, TEST_QUERIES, TRAIN_QUERIES, label_free_config


def test_a_run_fills_its_students_model_card(tmp_path: Path, tiny_dense_model: str) -> None:
    from huggingface_hub import ModelCard
    from sentence_transformers import SentenceTransformer

    beir = write_beir(
        tmp_path / "logset",
        TINY_CORPUS,
        {**TRAIN_QUERIES, **TEST_QUERIES},
        TEST_QRELS,
        split="test",
    )
    path = label_free_config(tmp_path, beir, tiny_dense_model)
    run_pipeline(load_pipeline_config(path), str(path))
    student = tmp_path / "runs" / "lf" / "stages" / "train" / "student"
    card = ModelCard.load(student / "README.md")
    facts = card.data.rankdistill
    assert facts["base_model"] == tiny_dense_model and facts["training_dataset"] == str(beir)
    assert facts["teacher"] == ["bm25", f"bi-encoder:{tiny_dense_model}"]
    assert len(facts["teacher_fingerprint"]) > 8 and facts["training_queries"] == "unlabeled"
    assert set(facts["loss"]) == {"teacher_nce", "listwise_kl"} and facts["seed"] == 13
    assert "rankdistill" in card.data.tags and "sentence-transformers" in card.data.tags
    assert "### Evaluation" in card.text and "| student (Flat) |" in card.text
    assert (
        "query-side student" in card.text
    )  # the index it expects: the starting model's corpus vectors
    assert SentenceTransformer(str(student), device="cpu").encode(["a query"]).shape[-1] == 128

    outcomes = run_pipeline(
        load_pipeline_config(path), str(path)
    )  # the card changed after train: nothing reruns
    assert all(o.cached for o in outcomes)
    assert ModelCard.load(student / "README.md").text.count("## rankdistill") == 1


def test_a_card_names_a_catalogue_base_model_by_its_hub_id() -> None:
    from rankdistill.training.model_card import hub_id

    assert hub_id("all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    assert hub_id("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"
    assert hub_id("/models/local-folder") is None

"""Student families: every config selects exactly one family, and `rd.train_student` trains each,
the default recipe (a query-side student) included, with no index or pipeline around it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import rankdistill as rd
from rankdistill.core.errors import UserError
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.training.config import StudentConfig
from rankdistill.training.families import FAMILIES, family_for, register_family
from tests.test_query_side import datasets, mined_and_indexed, query_side_config  # noqa: F401


@pytest.mark.parametrize(
    ("student", "family"),
    [
        (StudentConfig(), "dense"),
        (StudentConfig(kind="sparse", model="splade-tiny"), "sparse"),
        (StudentConfig(kind="cross-encoder"), "cross-encoder"),
        (StudentConfig(frozen_documents=True), "query-side"),
        (StudentConfig(distill="embeddings"), "embeddings"),
    ],
)
def test_every_student_config_selects_exactly_one_family(
    student: StudentConfig, family: str
) -> None:
    assert family_for(student).name == family
    assert [f.name for f in FAMILIES.values() if f.selects(student)] == [family]


def test_a_config_two_families_claim_is_a_clear_error() -> None:
    class Greedy:
        name = "greedy-test-family"

        def selects(self, student: StudentConfig) -> bool:
            return student.model == "claimed-twice"

        def train(self, config, inputs):  # noqa: ANN001, ANN201
            raise AssertionError("never dispatched")

    register_family(Greedy)
    try:
        with pytest.raises(UserError, match="2 student families select it"):
            family_for(StudentConfig(model="claimed-twice"))
    finally:
        FAMILIES.pop("greedy-test-family")


def test_the_public_api_trains_the_default_query_side_student_without_an_index(
    datasets: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
    tiny_dense_model: str,
) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.training.families.base import TrainingInputs
    from rankdistill.training.families.query_side import encode_frozen_documents

    beir, other = datasets
    config = load_pipeline_config(query_side_config(tmp_path, beir, other, tiny_dense_model))
    training_set, indexed = mined_and_indexed(config, beir)
    train_config = dataclasses.replace(
        config.train,
        name="api",
        output_dir=str(tmp_path / "api"),
        data=dataclasses.replace(config.train.data, training_set=str(training_set)),
    )
    result = rd.train_student(train_config)  # no frozen documents given: the corpus is encoded here
    assert result.student.is_dir()
    assert result.record["frozen_documents"]["count"] == len(indexed.doc_ids)
    # the documents it trained against are the ones an index of the starting model holds
    encoded = encode_frozen_documents(train_config, TrainingInputs())
    position = {doc_id: i for i, doc_id in enumerate(encoded.doc_ids)}
    order = [position[doc_id] for doc_id in indexed.doc_ids]
    similarity = np.sum(encoded.vectors[order] * indexed.vectors, axis=1)
    assert similarity.min() > 0.99
    encodings = list((tmp_path / "api" / "api" / "encodings").iterdir())
    assert len(encodings) == 1  # encoded once, in the run folder's shared cache
    # the saved student encodes queries with trained weights, documents with the starting model
    student = SentenceTransformer(str(result.student), device="cpu")
    starting = SentenceTransformer(tiny_dense_model, device="cpu")
    query = "what do bees do"
    assert not np.allclose(student.encode_query([query]), starting.encode([query]), atol=1e-4)

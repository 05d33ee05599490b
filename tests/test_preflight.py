"""Fail before the work (issue 37 item 4): an index-spec typo or an unknown model is refused at its
config line within 2 seconds, before anything is encoded or any stage folder is made."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rankdistill.core.errors import InputError
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.preflight import model_dimension
from rankdistill.pipeline.run import run_pipeline
from tests.conftest import TINY_CORPUS, write_beir
from tests.test_label_free import TEST_QRELS, TEST_QUERIES, TRAIN_QUERIES, label_free_config


@pytest.mark.parametrize(
    ("old", "new", "field", "said"),
    [
        ("spec: Flat", "spec: Flatt", "index.spec", "could not parse index string Flatt"),
        (
            "spec: Flat",
            "spec: 'IVF16,PQ7'",
            "index.spec",
            "multiple of the number of subquantizers",
        ),  # 128 dimensions
        (
            "spec: Flat",
            "spec: 'HNSW32:nprobe=4'",
            "index.spec",
            "cannot set search parameter nprobe=4",
        ),
        (
            'model: "MODEL", max_length: 16',
            'model: "no-such-model", max_length: 16',
            "train.student.model",
            "cannot resolve model 'no-such-model'",
        ),
        (
            'teacher: "bi-encoder:MODEL"',
            'teacher: "bi-encoder:nobody/no-such-model"',
            "teacher.members[1].teacher",
            "nobody/no-such-model",
        ),
        (
            'retrievers: [bm25, "dense:MODEL"]',
            'retrievers: [bm25, "dense:./missing-folder"]',
            "mine.retrievers[1]",
            "missing-folder",
        ),
    ],
)
def test_a_typo_is_refused_at_its_line_before_anything_is_encoded(
    tmp_path: Path,
    tiny_dense_model: str,
    monkeypatch: pytest.MonkeyPatch,
    old: str,
    new: str,
    field: str,
    said: str,
) -> None:
    from rankdistill.retrieval import dense

    beir = write_beir(
        tmp_path / "logset",
        TINY_CORPUS,
        {**TRAIN_QUERIES, **TEST_QUERIES},
        TEST_QRELS,
        split="test",
    )
    path = label_free_config(tmp_path, beir, tiny_dense_model)
    text = path.read_text().replace(tiny_dense_model, "MODEL")
    assert old in text
    path.write_text(text.replace(old, new).replace("MODEL", tiny_dense_model))
    encoded = []
    monkeypatch.setattr(dense, "encode_texts", lambda *a, **k: encoded.append(1))
    config = load_pipeline_config(path)
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        run_pipeline(config, str(path))
    assert time.perf_counter() - started < 2.0
    assert caught.value.field == field and caught.value.line is not None
    assert said in str(caught.value)
    assert not encoded and not (tmp_path / "runs").exists()


def test_model_dimension_reads_the_folder_without_loading_weights(
    tiny_dense_model: str, tmp_path: Path
) -> None:
    assert model_dimension(tiny_dense_model) == 128
    assert model_dimension(tmp_path) is None

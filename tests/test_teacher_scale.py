"""Teacher scores on the student's scale: a bi-encoder teacher declares cosine scores, the training
set carries that, and training multiplies them by the student's scale (a softmax over raw cosines
is almost uniform and teaches the student to flatten its lists); lists that are near-uniform or
near-one-hot are warned about."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from rankdistill.data import load_dataset
from rankdistill.encoders.models import EncodingSettings
from rankdistill.mining.records import read_training_set, write_training_set
from rankdistill.training.config import DataConfig, TrainConfig
from rankdistill.training.data import (
    build_rows,
    check_teacher_spread,
    load_records,
    normalised_entropies,
    teacher_factor,
)
from tests.test_training import tiny_training_set


def test_a_bi_encoder_teacher_declares_cosine_scores_and_the_records_keep_it(
    tmp_path: Path, tiny_beir: Path, tiny_dense_model: str
) -> None:
    from rankdistill.mining import build_training_set
    from rankdistill.teachers import build_teacher

    dataset = load_dataset(tiny_beir, "test")
    cosine = build_teacher(
        f"bi-encoder:{tiny_dense_model}", encoding=EncodingSettings(batch_size=8)
    )
    assert cosine.score_scale == "cosine"
    records, _ = build_training_set(
        dataset, ["bm25"], cosine, tmp_path / "store", n_top=2, n_random=0, depth=5
    )
    assert records and all(r.teacher_scale == "cosine" for r in records)
    write_training_set(tmp_path / "train.jsonl", records, {})
    assert (
        json.loads((tmp_path / "train.jsonl").read_text().splitlines()[0])["teacher_scale"]
        == "cosine"
    )
    assert [r.teacher_scale for r in read_training_set(tmp_path / "train.jsonl")] == [
        "cosine"
    ] * len(records)
    bm25, _ = build_training_set(
        dataset,
        ["bm25"],
        build_teacher("bm25", [dataset.doc_text(d) for d in dataset.corpus]),
        tmp_path / "store",
        n_top=2,
        n_random=0,
        depth=5,
    )
    assert all(r.teacher_scale == "raw" for r in bm25)


def test_cosine_teachers_are_put_on_the_students_scale(tmp_path: Path) -> None:
    beir, path = tiny_training_set(tmp_path, negatives=4)
    dataset = load_dataset(beir, "train")
    records = [dataclasses.replace(r, teacher_scale="cosine") for r in load_records(path, dataset)]
    config = TrainConfig(loss={"listwise_kl": {"scale": 20}, "infonce": {"weight": 0.1}})
    assert teacher_factor(config, records) == 20.0  # the student's scale
    assert (
        teacher_factor(dataclasses.replace(config, data=DataConfig(teacher_scale=5.0)), records)
        == 5.0
    )  # chosen by the user
    assert (
        teacher_factor(config, load_records(path, dataset)) == 1.0
    )  # an undeclared (raw) teacher is left alone
    plain = build_rows(records, dataset, 3, 13).rows
    scaled = build_rows(records, dataset, 3, 13, teacher_factor=20.0).rows
    assert [[20 * x for x in r["label"]] for r in plain] == [r["label"] for r in scaled]


def test_near_uniform_and_near_one_hot_lists_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(0)
    cosines = (
        0.5 + 0.05 * rng.standard_normal((50, 5))
    ).tolist()  # raw cosines: what item 9's user trained on
    assert normalised_entropies(cosines).min() > 0.98
    with caplog.at_level("WARNING", logger="rankdistill.training.data"):
        assert check_teacher_spread(cosines, {"listwise_kl": {"scale": 20}}) > 0.98
    assert "near-uniform" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="rankdistill.training.data"):
        assert (
            0.02
            < check_teacher_spread(
                (20 * np.asarray(cosines)).tolist(), {"listwise_kl": {"scale": 20}}
            )
            < 0.98
        )
        check_teacher_spread([[50.0, 0.0, 0.0, 0.0]] * 10, "listwise_kl")
    assert "near-uniform" not in caplog.text and "near one-hot" in caplog.text

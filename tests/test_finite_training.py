"""No silent non-finite training (issue 37 item 3): the first NaN loss term or gradient stops
training with its step and name, and a student with a non-finite weight is never saved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rankdistill.training.finite import (
    NonFiniteTraining,
    check_gradients,
    check_loss,
    check_weights,
)
from tests.test_training import REPO, tiny_training_set, train_from, write_config


def test_the_first_non_finite_term_is_named_with_its_step() -> None:
    check_loss(
        {"listwise_kl": torch.tensor(0.5), "infonce": torch.tensor(1.0)}, 3
    )  # finite: nothing happens
    with pytest.raises(NonFiniteTraining, match=r"step 3: non-finite loss \(listwise_kl = nan\)"):
        check_loss({"listwise_kl": torch.tensor(float("nan")), "infonce": torch.tensor(1.0)}, 3)
    with pytest.raises(NonFiniteTraining, match=r"step 7: .*anchor = inf"):
        check_loss(torch.tensor(0.1), 7, {"anchor": float("inf")})


def test_a_non_finite_gradient_or_weight_is_named() -> None:
    layer = torch.nn.Linear(2, 2)
    layer(torch.ones(1, 2)).sum().backward()
    check_gradients(layer, 1)
    layer.weight.grad[0, 0] = float("inf")
    with pytest.raises(NonFiniteTraining, match="step 1: the gradient of weight"):
        check_gradients(layer, 1)
    with torch.no_grad():
        layer.bias[1] = float("nan")
    with pytest.raises(NonFiniteTraining, match="not saved, weight bias"):
        check_weights(layer, "out/student")


def test_a_diverging_run_stops_at_its_step_and_saves_no_student(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    beir, training_set = tiny_training_set(tmp_path)
    config = write_config(
        tmp_path,
        beir,
        training_set,
        tiny_dense_model,
        trainer="  max_steps: 4\n  batch_size: 2\n  learning_rate: 1.0e+30\n  save_steps: 100\n  logging_steps: 1\n  device: cpu",
    )
    with pytest.raises(NonFiniteTraining, match=r"training stopped at step [2-4]"):
        train_from(config)
    assert not (tmp_path / "runs" / "run" / "student").exists()
    # the CLI: exit 2, the message, no traceback
    done = subprocess.run(
        [sys.executable, "-m", "rankdistill.cli", "train", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "training stopped at step" in done.stderr and "Traceback" not in done.stderr


def test_a_student_with_a_nan_weight_is_not_saved(tmp_path: Path, tiny_dense_model: str) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.training.train import save_student

    model = SentenceTransformer(tiny_dense_model, device="cpu")
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(NonFiniteTraining, match="not saved"):
        save_student(model, tmp_path / "student", {})
    assert not (tmp_path / "student").exists() and not (tmp_path / ".student.partial").exists()


def test_query_side_training_stops_at_a_non_finite_loss(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.run import run_pipeline
    from tests.conftest import TINY_CORPUS, write_beir
    from tests.test_label_free import TEST_QRELS, TEST_QUERIES, TRAIN_QUERIES, label_free_config

    beir = write_beir(
        tmp_path / "logset",
        TINY_CORPUS,
        {**TRAIN_QUERIES, **TEST_QUERIES},
        TEST_QRELS,
        split="test",
    )
    path = label_free_config(tmp_path, beir, tiny_dense_model)
    path.write_text(path.read_text().replace("learning_rate: 1.0e-3", "learning_rate: 1.0e+30"))
    with pytest.raises(NonFiniteTraining, match="training stopped at step [2-9]"):
        run_pipeline(load_pipeline_config(path), str(path))
    assert not list((tmp_path / "runs").rglob("rankdistill_train.json"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"listwise_kl": {"weight": float("nan")}},
            "weight must be a number >= 0 and finite, got nan",
        ),
        (
            {"listwise_kl": {"weight": float("inf")}},
            "weight must be a number >= 0 and finite, got inf",
        ),
        (
            {"listwise_kl": {"temperature": float("nan")}},
            "temperature must be a finite float32 number",
        ),
        ({"teacher_nce": {"scale": 1e39}}, r"scale must be a finite float32 number, got 1e\+39"),
    ],
)
def test_a_loss_spec_refuses_non_finite_numbers(spec: dict, message: str) -> None:
    from rankdistill.core.errors import UserError
    from rankdistill.losses import parse_loss_spec

    with pytest.raises(UserError, match=message):
        parse_loss_spec(spec)


@pytest.mark.parametrize("spec", ["bm25:k1=nan", "bm25:k1=inf", "bm25:b=1.5", "bm25:k1=-1"])
def test_a_retriever_spec_refuses_out_of_range_numbers(spec: str) -> None:
    from rankdistill.core.errors import UserError
    from rankdistill.retrieval import build_retriever

    with pytest.raises(UserError, match=f"retriever '{spec}'"):
        build_retriever(spec)

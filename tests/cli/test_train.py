"""`rankdistill train --config`: a student distilled from teacher embeddings (`distill:
embeddings`) trains through the same command, its teacher's targets cached under output_dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankdistill.cli import main
from tests.conftest import write_beir
from tests.test_students import embedding_train_config


def test_rankdistill_train_runs_embedding_distillation(
    tmp_path: Path, tiny_dense_model: str, tiny_teacher_64: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sentence_transformers import SentenceTransformer

    beir = write_beir(write_beir(tmp_path / "tiny", split="train"), split="test")
    path = embedding_train_config(
        tmp_path, beir, tiny_dense_model, tiny_teacher_64, serve="teacher-documents"
    )
    path.write_text(path.read_text().replace("epochs: 30", "epochs: 2"))
    assert main(["train", "--config", str(path)]) == 0
    assert "trained student:" in capsys.readouterr().out
    student = SentenceTransformer(str(tmp_path / "runs" / "embed" / "student"), device="cpu")
    assert student.encode_query(["what causes tides"]).shape == (1, 64)
    assert (tmp_path / "runs" / "encodings").is_dir()  # the teacher's targets, under output_dir

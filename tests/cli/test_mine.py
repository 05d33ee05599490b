"""`rankdistill mine`: a training set and its sidecar (the settings and counts) on disk; a missing
split exits 2."""

from __future__ import annotations

import json
from pathlib import Path

from rankdistill.cli import main
from rankdistill.mining import meta_path, read_training_set
from tests.conftest import write_beir
from tests.test_mining import TRAIN_QRELS, TRAIN_QUERIES


def test_mine_command_writes_a_readable_training_set(tmp_path: Path, capsys) -> None:
    train_set = write_beir(tmp_path / "tiny-train", queries=TRAIN_QUERIES, qrels=TRAIN_QRELS, split="train")
    output = tmp_path / "mined" / "train.jsonl"
    args = ["mine", "--dataset", str(train_set), "--retriever", "bm25", "--teacher", "bm25", "--store", str(tmp_path / "store")]
    args += ["--output", str(output), "--n-top", "2", "--n-random", "1", "--depth", "10", "--fn-margin", "0.0"]
    assert main(args) == 0
    assert f"wrote {output}" in capsys.readouterr().out
    records = read_training_set(output)
    meta = json.loads(meta_path(output).read_text())
    assert meta["records"] == meta["counts"]["records"] == len(records) > 0
    assert meta["config"]["retrievers"] == ["bm25"] and meta["config"]["split"] == "train"
    assert all(r.teacher == meta["config"]["teacher_fingerprint"] for r in records)
    assert main([*args, "--split", "nosuch"]) == 2
    assert "no such split 'nosuch'" in capsys.readouterr().err

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
    train_set = write_beir(
        tmp_path / "tiny-train", queries=TRAIN_QUERIES, qrels=TRAIN_QRELS, split="train"
    )
    output = tmp_path / "mined" / "train.jsonl"
    args = [
        "mine",
        "--dataset",
        str(train_set),
        "--retriever",
        "bm25",
        "--teacher",
        "bm25",
        "--store",
        str(tmp_path / "store"),
    ]
    args += [
        "--output",
        str(output),
        "--n-top",
        "2",
        "--n-random",
        "1",
        "--depth",
        "10",
        "--fn-margin",
        "0.0",
    ]
    assert main(args) == 0
    assert f"wrote {output}" in capsys.readouterr().out
    records = read_training_set(output)
    meta = json.loads(meta_path(output).read_text())
    assert meta["records"] == meta["counts"]["records"] == len(records) > 0
    assert meta["config"]["retrievers"] == ["bm25"] and meta["config"]["split"] == "train"
    assert all(r.teacher == meta["config"]["teacher_fingerprint"] for r in records)
    assert main([*args, "--split", "nosuch"]) == 2
    assert "no such split 'nosuch'" in capsys.readouterr().err


def test_mine_command_without_judgements_reads_no_qrels_of_the_queries_it_mines(
    tmp_path: Path, capsys
) -> None:
    from tests.test_label_free import TEST_QRELS, TEST_QUERIES
    from tests.test_label_free import TRAIN_QUERIES as LOG_QUERIES

    beir = write_beir(
        tmp_path / "logset", queries={**LOG_QUERIES, **TEST_QUERIES}, qrels=TEST_QRELS, split="test"
    )
    (beir / "qrels" / "train.tsv").write_bytes(b"\xff poisoned: any read fails")
    output = tmp_path / "mined" / "log.jsonl"
    args = [
        "mine",
        "--dataset",
        str(beir),
        "--retriever",
        "bm25",
        "--teacher",
        "bm25",
        "--store",
        str(tmp_path / "store"),
        "--output",
        str(output),
        "--n-top",
        "2",
        "--n-random",
        "0",
        "--depth",
        "4",
    ]
    assert main([*args, "--unjudged", "unlabeled"]) == 0
    records = read_training_set(output)
    meta = json.loads(meta_path(output).read_text())
    assert meta["counts"]["queries"] == len(LOG_QUERIES)  # every query but the test split's
    assert {r.query_id for r in records} <= set(LOG_QUERIES) and len(records) == len(
        LOG_QUERIES
    ) - meta["counts"]["queries_without_negatives"]
    assert all(
        len(r.positives) == 1 and r.positives[0].score >= r.negatives[0].score for r in records
    )
    log = tmp_path / "log.txt"
    log.write_text("do bees, coffee, glaciers and vaccines need the sun\n")
    assert main([*args, "--unjudged", str(log)]) == 0
    (record,) = read_training_set(output)
    assert record.query_id == "log-1" and json.loads(meta_path(output).read_text())["config"][
        "judgements"
    ].startswith("none")

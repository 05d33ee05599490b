"""Outputs never collide: two evaluated datasets whose folders share a name each get their own
index, evaluation folder, summary entry and table row."""

from __future__ import annotations

import json
from pathlib import Path

from rankdistill.data.resolve import colliding_names
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import run_pipeline
from tests.conftest import TINY_CORPUS, write_beir
from tests.test_label_free import TEST_QRELS, TEST_QUERIES, TRAIN_QUERIES, label_free_config


def test_colliding_names_are_made_unique_and_others_kept() -> None:
    names = colliding_names(["/a/scifact", "/b/scifact", "nfcorpus"])
    assert set(names) == {"/a/scifact", "/b/scifact"} and len(set(names.values())) == 2
    assert all(n.startswith("scifact-") for n in names.values())
    assert names == colliding_names(["/a/scifact", "/b/scifact", "nfcorpus"])  # fixed


def test_two_datasets_of_one_folder_name_keep_their_own_outputs(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    queries = {**TRAIN_QUERIES, **TEST_QUERIES}
    first = write_beir(tmp_path / "a" / "logset", TINY_CORPUS, queries, TEST_QRELS, split="test")
    # the same folder name elsewhere, with other judgements: its figures must not overwrite the first's
    second = write_beir(
        tmp_path / "b" / "logset",
        TINY_CORPUS,
        queries,
        {"q1": {"d7": 1}, "q2": {"d1": 1}},
        split="test",
    )
    path = label_free_config(tmp_path, first, tiny_dense_model)
    path.write_text(
        path.read_text().replace(f'datasets: ["{first}"]', f'datasets: ["{first}", "{second}"]')
    )
    run_pipeline(load_pipeline_config(path), str(path))
    stages = tmp_path / "runs" / "lf" / "stages"
    summary = json.loads((stages / "evaluate" / "done.json").read_text())["summary"]["datasets"]
    labels = colliding_names([str(first), str(second)])
    assert set(summary) == set(labels.values())
    bm25 = {label: summary[label]["systems"]["bm25"]["metrics"]["nDCG@10"] for label in summary}
    assert len(set(bm25.values())) == 2  # each dataset's own judgements, not one copied twice
    for label in labels.values():
        assert (stages / "evaluate" / label / "bm25" / "metrics.json").is_file()
    assert (stages / "index" / "index").is_dir() and (
        stages / "index" / f"index-{labels[str(second)]}"
    ).is_dir()

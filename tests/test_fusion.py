"""A reranker fused with BM25 (rankdistill/evaluation/fusion.py): the formula on hand-made lists,
the weight chosen on dev queries, and a cross-encoder run that reports its fused systems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankdistill.core.errors import InputError
from rankdistill.data import open_dataset
from rankdistill.evaluation import safe_name
from rankdistill.evaluation.fusion import chosen_weight, fuse, standardised, weight_curve
from rankdistill.metrics import evaluate_run, read_trec_run
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import run_pipeline
from tests.conftest import write_beir
from tests.test_students import cross_encoder_run

MODEL = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}  # the reranker prefers a
FIRST = {"q": {"a": 1.0, "b": 1.0, "c": 10.0, "z": 0.5}}  # BM25 prefers c; z was not reranked


def order(run: dict[str, dict[str, float]]) -> list[str]:
    return sorted(run["q"], key=lambda d: -run["q"][d])


def test_fusion_is_the_sum_of_per_query_z_scores() -> None:
    assert standardised({"a": 2.0, "b": 2.0}) == {"a": 0.0, "b": 0.0}  # no spread: no signal
    z_model, z_first = standardised(MODEL["q"]), standardised({d: FIRST["q"][d] for d in "abc"})
    fused = fuse(MODEL, FIRST, 0.5)
    assert set(fused["q"]) == {"a", "b", "c"}  # the reranked list only
    for d in "abc":
        assert fused["q"][d] == pytest.approx(z_model[d] + 0.5 * z_first[d])
    assert order(fuse(MODEL, FIRST, 0.0)) == ["a", "b", "c"]
    assert order(fuse(MODEL, FIRST, 10.0))[0] == "c"


def test_the_weight_is_the_best_on_dev_and_the_smallest_among_ties() -> None:
    qrels = {"q": {"c": 1}}
    curve = weight_curve(qrels, MODEL, FIRST, (0.0, 1.0, 10.0, 20.0))
    assert curve[0.0] < curve[10.0] == curve[20.0] == 1.0
    assert chosen_weight(curve) == 10.0
    assert chosen_weight({0.0: 0.5, 1.0: 0.5}) == 0.0


def test_a_cross_encoder_run_reports_its_rerankers_fused_with_bm25(
    tmp_path: Path, splade_tiny: str, tiny_dense_model: str
) -> None:
    beir = write_beir(write_beir(tmp_path / "tiny", split="train"), split="test")
    other = write_beir(tmp_path / "other")  # out of domain: the student's weight, no teacher
    path = cross_encoder_run(tmp_path, beir, splade_tiny, tiny_dense_model)
    path.write_text(
        path.read_text()
        .replace("epochs: 40", "epochs: 2")
        .replace("  loss: listwise_kl", "  loss: listwise_kl\n  dev: {queries: 2, rerank_depth: 5}")
        .replace("k: 10, batch_size: 8}", "k: 10, batch_size: 8, fusion_weights: [0.0, 1.0, 3.0]}")
        .replace(f'datasets: ["{beir}"]', f'datasets: ["{beir}", "{other}"]')
    )
    outcomes = run_pipeline(load_pipeline_config(path), "ce.yaml")
    tiny = outcomes[-1].summary["datasets"]["tiny"]
    ood = outcomes[-1].summary["datasets"]["other"]
    fused_student = "student rerank of bm25@5 fused with bm25"
    fused_teacher = "bm25 + teacher rerank@5 fused with bm25"
    assert {fused_student, fused_teacher} <= set(tiny["systems"])
    folder = tmp_path / "runs" / "ce" / "stages" / "evaluate" / "tiny"
    qrels = open_dataset(str(beir), "test").qrels
    bm25 = read_trec_run(folder / "bm25" / "run.trec")
    for name, alone in (
        (fused_student, safe_name("student rerank of bm25@5")),
        (fused_teacher, safe_name("bm25 + teacher rerank@5")),
    ):
        fusion = tiny["fusion"][name]
        curve = {float(w): v for w, v in fusion["dev_curve"].items()}
        assert set(curve) == {0.0, 1.0, 3.0} and fusion["dev_queries"] == 2
        assert fusion["weight"] == chosen_weight(curve)
        # the test lists: the reranker's saved run fused with BM25's at the chosen weight
        recomputed = evaluate_run(
            qrels, fuse(read_trec_run(folder / alone / "run.trec"), bm25, fusion["weight"])
        )
        assert tiny["systems"][name]["metrics"]["nDCG@10"] == pytest.approx(
            recomputed.aggregate["nDCG@10"], abs=1e-4
        )
        saved = json.loads((folder / safe_name(name) / "metrics.json").read_text())
        assert saved["settings"]["fusion"] == fusion
    report = (tmp_path / "runs" / "ce" / "report.md").read_text()
    assert f"| {fused_student} | {tiny['fusion'][fused_student]['weight']:g} |" in report
    # out of domain the student is fused at the weight chosen in domain; the teacher reranks only there
    assert set(ood["fusion"]) == {fused_student}
    assert ood["fusion"][fused_student] == tiny["fusion"][fused_student]


def test_fusion_without_a_cross_encoder_student_is_a_located_error(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    from tests.test_pipeline import pipeline_config

    beir = write_beir(write_beir(tmp_path / "tiny", split="train"), split="test")
    path = pipeline_config(tmp_path, beir, tiny_dense_model)
    text = path.read_text()
    assert "evaluate: {" in text
    path.write_text(text.replace("evaluate: {", "evaluate: {fusion_weights: [0.0, 1.0], "))
    with pytest.raises(InputError, match="cross-encoder student") as error:
        load_pipeline_config(path)
    assert "evaluate.fusion_weights" in str(error.value) and str(path) in str(error.value)

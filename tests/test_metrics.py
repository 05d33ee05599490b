"""Metrics against hand-computed values, and TREC run files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rankdistill.core.errors import InputError
from rankdistill.metrics import evaluate_run, read_trec_run, write_trec_run


def test_binary_metrics_match_hand_computation() -> None:
    qrels = {"q1": {"d1": 1, "d2": 1}}
    run = {"q1": {"d3": 0.9, "d1": 0.8, "d4": 0.7, "d2": 0.6}}
    result = evaluate_run(qrels, run)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert result.aggregate["nDCG@10"] == pytest.approx(dcg / idcg, abs=1e-4)
    assert result.aggregate["MRR@10"] == pytest.approx(0.5)
    assert result.aggregate["R@100"] == pytest.approx(1.0)
    assert result.aggregate["MAP@100"] == pytest.approx((1 / 2 + 2 / 4) / 2)


def test_graded_ndcg_uses_linear_gains_like_trec_eval() -> None:
    result = evaluate_run({"q": {"d1": 2, "d2": 1}}, {"q": {"d2": 0.9, "d1": 0.5}})
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert result.aggregate["nDCG@10"] == pytest.approx(expected, abs=1e-4)


def test_mrr_is_cut_at_ten() -> None:
    run = {"q": {f"n{i}": 1.0 - i / 100 for i in range(10)} | {"rel": 0.5}}
    result = evaluate_run({"q": {"rel": 1}}, run)
    assert result.aggregate["MRR@10"] == 0.0
    assert result.aggregate["R@100"] == 1.0


def test_judged_query_without_hits_counts_as_zero() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    result = evaluate_run(qrels, {"q1": {"d1": 1.0}, "q2": {}})
    assert result.num_queries == 2
    assert result.per_query["q2"]["nDCG@10"] == 0.0
    assert result.aggregate["nDCG@10"] == pytest.approx(0.5)


def test_identical_ids_are_ignored_only_when_asked() -> None:
    qrels = {"x": {"d1": 1}}
    run = {"x": {"x": 1.0, "d1": 0.5}}
    assert evaluate_run(qrels, run).aggregate["MRR@10"] == pytest.approx(0.5)
    assert evaluate_run(qrels, run, ignore_identical_ids=True).aggregate["MRR@10"] == pytest.approx(
        1.0
    )


def test_trec_run_round_trip_keeps_order(tmp_path: Path) -> None:
    run = {"q1": {"a": 0.1, "b": 2.5, "c": 1.0}, "q2": {"z": 3.0}}
    path = write_trec_run(run, tmp_path / "run.trec", tag="my run")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 b 1 2.500000 my_run"
    assert [line.split()[2] for line in lines[:3]] == ["b", "c", "a"]
    assert read_trec_run(path) == {"q1": {"b": 2.5, "c": 1.0, "a": 0.1}, "q2": {"z": 3.0}}


def test_bad_trec_run_line(tmp_path: Path) -> None:
    path = tmp_path / "run.trec"
    path.write_text("q1 Q0 d1 1 0.5 tag\nq1 Q0 d2 2 tag\n")
    with pytest.raises(InputError, match=r"run.trec:2: expected 6 columns"):
        read_trec_run(path)

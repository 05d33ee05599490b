"""Teacher-label diagnostics on training records (rankdistill/mining/label_stats.py)."""

from __future__ import annotations

import math

import pytest

from rankdistill.mining import Negative, Positive, TrainingRecord
from rankdistill.mining.label_stats import label_statistics, record_statistics


def record(positive: float, negatives: list[float]) -> TrainingRecord:
    return TrainingRecord(
        "q",
        "query",
        [Positive("d+", positive)],
        [Negative(f"d{i}", s, "top", 1.0) for i, s in enumerate(negatives)],
        "t",
    )


def test_a_near_label_teacher_reads_as_peaked_and_agreeing() -> None:
    peaked = record_statistics(record(20.0, [0.0, -1.0, -2.0]))
    flat = record_statistics(record(0.0, [0.0, 0.0, 0.0]))
    assert (
        peaked["p_positive"] > 0.999 and peaked["entropy"] < 0.01 and peaked["top1_agrees"] == 1.0
    )
    assert flat["p_positive"] == pytest.approx(0.25) and flat["entropy"] == pytest.approx(1.0)
    assert flat["top1_agrees"] == 0.0  # a tie is not agreement


def test_rank_and_margin_when_the_teacher_disagrees() -> None:
    stats = record_statistics(record(1.0, [3.0, 2.0, 0.5]))
    assert (
        stats["positive_rank"] == 3
        and stats["margin"] == pytest.approx(-2.0)
        and stats["top1_agrees"] == 0.0
    )


def test_summary_means_over_records() -> None:
    summary = label_statistics(
        [record(5.0, [0.0]), record(0.0, [5.0]), TrainingRecord("e", "x", [], [], "t")]
    )
    assert summary["records"] == 2 and summary["top1_agrees"] == 0.5
    assert summary["p_positive"] == pytest.approx(0.5) and summary["median_positive_rank"] == 1.5
    assert not math.isnan(summary["margin"])

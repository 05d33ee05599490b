"""`rankdistill compare`: rows per run and system, deltas and wins against the reference on the
same queries, clear errors for unfinished runs and unknown systems."""

from __future__ import annotations

import json
from pathlib import Path

from rankdistill.cli import main
from rankdistill.metrics import METRICS


def fake_run(folder: Path, systems: dict[str, list[float]]) -> Path:
    """A finished run whose systems have these per-query nDCG@10 values (other metrics 0)."""
    summary = {"datasets": {"scifact": {"split": "test", "systems": {}}}}
    for name, values in systems.items():
        per_query = {
            f"q{i}": {m: (v if m == "nDCG@10" else 0.0) for m in METRICS}
            for i, v in enumerate(values)
        }
        metrics = {m: (sum(values) / len(values) if m == "nDCG@10" else 0.0) for m in METRICS}
        summary["datasets"]["scifact"]["systems"][name] = {
            "metrics": metrics,
            "per_query": per_query,
        }
    done = folder / "stages" / "evaluate" / "done.json"
    done.parent.mkdir(parents=True)
    done.write_text(json.dumps({"summary": summary}))
    return folder


def test_rows_deltas_and_wins_against_the_reference(tmp_path: Path, capsys) -> None:
    base = fake_run(tmp_path / "base", {"bm25": [0.1, 0.1, 0.1], "student (Flat)": [0.5, 0.5, 0.5]})
    other = fake_run(
        tmp_path / "other",
        {
            "bm25": [0.1, 0.1, 0.1],
            "student (Flat)": [0.8, 0.5, 0.2],
            "student @ 48 dims": [0.5, 0.5, 0.6],
        },
    )
    out = tmp_path / "table.md"
    assert main(["compare", str(base), str(other), "--output", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "scifact, reference base: student (Flat)"
    rows = {
        tuple(line.split(" | ")[:2]): line
        for line in lines
        if line.startswith("| base") or line.startswith("| other")
    }
    assert set(rows) == {
        ("| base", "student (Flat)"),
        ("| other", "student (Flat)"),
        ("| other", "student @ 48 dims"),
    }
    assert "(reference)" in rows[("| base", "student (Flat)")]
    assert "| +0.0000 | 1 / 1 / 1 |" in rows[("| other", "student (Flat)")]
    assert "| +0.0333 | 1 / 0 / 2 |" in rows[("| other", "student @ 48 dims")]
    assert out.read_text().splitlines() == lines
    assert (
        main(
            [
                "compare",
                str(base),
                str(other),
                "--reference",
                f"{base}:student (Flat)",
                "--include",
                "bm25",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert (
        "| base | bm25 |" in table and "| other | bm25 |" not in table
    )  # the same baseline: listed once
    assert "student" not in table.split("\n", 1)[1].replace("vs base: student (Flat)", "")


def test_unfinished_run_or_unknown_system_is_a_user_error(tmp_path: Path, capsys) -> None:
    base = fake_run(tmp_path / "base", {"student (Flat)": [0.5]})
    assert main(["compare", str(tmp_path / "missing")]) == 2
    assert "not a finished run" in capsys.readouterr().err
    assert main(["compare", str(base), "--reference", f"{base}:teacher"]) == 2
    assert "no system 'teacher'" in capsys.readouterr().err


def test_a_cross_encoder_students_run_is_its_own_reference(tmp_path: Path, capsys) -> None:
    systems = {
        "bm25": [0.4, 0.4],
        "bm25 + teacher rerank@100": [0.9, 0.7],
        "student rerank of bm25@100": [0.6, 0.2],
    }
    run = fake_run(tmp_path / "ce", systems)
    assert main(["compare", str(run), "--include", "bm25"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "scifact, reference ce: student rerank of bm25@100"
    assert any(
        line.startswith("| ce | bm25 + teacher rerank@100 |") and "| +0.4000 | 2 / 0 / 0 |" in line
        for line in lines
    )

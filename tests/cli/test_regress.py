"""Regression configs: the tiny SciFact one passes on the real data; a wrong expectation fails
with exit 1; a malformed one is a located error."""

from __future__ import annotations

from pathlib import Path

from rankdistill.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_tiny_scifact_regression_passes(
    shared_data: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("RANKDISTILL_DATA", str(shared_data))
    config = tmp_path / "r.yaml"
    config.write_text(
        (REPO / "configs" / "regressions" / "scifact-bm25.yaml").read_text()
        + f"output_dir: {tmp_path / 'runs'}\n"
    )
    assert main(["regress", str(config)]) == 0
    assert (
        "| scifact | bm25 | nDCG@10 | 0.6863 | 0.6863 | 0.0005 | PASS |" in capsys.readouterr().out
    )
    config.write_text(config.read_text().replace("nDCG@10: 0.6863", "nDCG@10: 0.7000"))
    try:
        main(["regress", str(config)])
    except SystemExit as exc:
        assert exc.code == 1
    else:
        raise AssertionError("a failed regression must exit 1")
    assert (
        "| scifact | bm25 | nDCG@10 | 0.7000 | 0.6863 | 0.0005 | FAIL |" in capsys.readouterr().out
    )


def test_malformed_expectations_are_located(tmp_path: Path, capsys) -> None:
    config = tmp_path / "r.yaml"
    config.write_text("name: x\nexpected:\n  scifact: [0.5]\n")
    assert main(["regress", str(config)]) == 2
    assert "r.yaml:3: field 'expected'" in capsys.readouterr().err

"""`rankdistill index search`: a TREC run and its settings; the index commands' user errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from rankdistill.cli import main
from tests.conftest import write_beir


def test_index_search_writes_a_trec_run_with_its_settings(
    flat_index, tmp_path: Path, capsys
) -> None:
    beir, folder = flat_index
    run = tmp_path / "run.trec"
    assert (
        main(
            [
                "index",
                "search",
                "--index",
                str(folder),
                "--queries",
                str(beir / "queries.jsonl"),
                "--k",
                "3",
                "--output",
                str(run),
            ]
        )
        == 0
    )
    lines = run.read_text().splitlines()
    assert len(lines) == 5 * 3 and lines[0].split()[:2] == ["q1", "Q0"]
    meta = json.loads((tmp_path / "run.trec.meta.json").read_text())
    assert meta["spec"] == "Flat" and meta["k"] == 3 and meta["provenance"]["versions"]["faiss-cpu"]


def test_cli_errors_exit_2_without_traceback(flat_index, tmp_path: Path, capsys) -> None:
    beir, folder = flat_index
    other = write_beir(
        tmp_path / "other",
        corpus={"x1": ("A", "another corpus")},
        queries={"qx": "q"},
        qrels={"qx": {"x1": 1}},
    )
    assert main(["evaluate", "--dataset", str(other), "--index", str(folder)]) == 2
    assert "index was built from another corpus" in capsys.readouterr().err
    assert (
        main(
            [
                "index",
                "build",
                "--model",
                "m",
                "--dataset",
                str(beir),
                "--spec",
                "IVF4,PQ7",
                "--output",
                str(folder),
            ]
        )
        == 2
    )
    assert "already holds a complete index" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", str(beir)]) == 2

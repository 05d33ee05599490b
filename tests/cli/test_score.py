"""`rankdistill score`: candidates scored into the store, rerank table, diagnostics; torchrun shards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rankdistill.cli import main
from rankdistill.store import ScoreStore


def test_score_command_writes_table_diagnostics_and_fills_the_store(
    tiny_beir: Path, tiny_dense_model: str, tmp_path: Path, capsys
) -> None:
    store, report = tmp_path / "store", tmp_path / "report"
    args = [
        "score",
        "--dataset",
        str(tiny_beir),
        "--retriever",
        "bm25",
        "--depth",
        "5",
        "--teacher",
        "bm25",
        "--teacher",
        f"bi-encoder:{tiny_dense_model}",
        "--store",
        str(store),
        "--report",
        str(report),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| bm25 + bm25 |" in printed and f"| bm25 + bi-encoder:{tiny_dense_model} |" in printed
    for name in (
        "results.md",
        "diagnostics.md",
        "diagnostics.json",
        "histograms.png",
        "metrics.json",
    ):
        assert (report / name).stat().st_size > 0
    diagnostics = json.loads((report / "diagnostics.json").read_text())
    assert diagnostics["kendall_tau"]["bm25"]["bm25"] == 1.0
    # BM25 reranking its own top-5 keeps its order: same metrics as the first stage
    metrics = json.loads((report / "metrics.json").read_text())["metrics"]
    assert metrics["bm25 + bm25"]["nDCG@10"] == pytest.approx(metrics["bm25"]["nDCG@10"])
    paired = json.loads((report / "metrics.json").read_text())["vs_first_stage"]
    assert (
        paired["bm25 + bm25"]["delta"] == pytest.approx(0.0)
        and paired["bm25 + bm25"]["randomisation_p"] == 1.0
    )
    dense = paired[f"bm25 + bi-encoder:{tiny_dense_model}"]
    assert dense["delta"] == pytest.approx(
        metrics[f"bm25 + bi-encoder:{tiny_dense_model}"]["nDCG@10"] - metrics["bm25"]["nDCG@10"]
    )
    assert dense["wins"] + dense["losses"] + dense["ties"] == 4  # the tiny set's judged queries
    stored = sum(len(ScoreStore(store, folder.name)) for folder in store.iterdir())
    pairs = sum(1 for line in (report / "runs" / "bm25.trec").read_text().splitlines())
    assert stored == 2 * pairs  # every pair of both teachers is in the store


def test_score_rejects_both_or_no_candidate_sources(tiny_beir: Path, tmp_path: Path) -> None:
    base = ["score", "--dataset", str(tiny_beir), "--teacher", "bm25", "--store", str(tmp_path)]
    assert main(base) == 2
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d1 1 2.0 x\n")
    assert main([*base, "--run", str(run), "--retriever", "bm25"]) == 2


def test_two_torchrun_ranks_share_the_scoring(tiny_beir: Path, tmp_path: Path) -> None:
    """Two CPU processes under torchrun each score the pairs they own; rank 0 writes the report
    from the store, which then holds every pair exactly once."""
    store, report = tmp_path / "store", tmp_path / "report"
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            "-m",
            "rankdistill.cli",
            "score",
            "--dataset",
            str(tiny_beir),
            "--retriever",
            "bm25",
            "--depth",
            "10",
            "--teacher",
            "bm25",
            "--store",
            str(store),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (folder,) = list(store.iterdir())
    shards = sorted(folder.glob("shard-*.bin"))
    pids = {shard.name.split("-")[2] for shard in shards}
    assert len(pids) == 2  # both processes wrote
    opened = ScoreStore(store, folder.name).stats()
    assert (
        opened["records"]
        == opened["pairs"]
        == len((report / "runs" / "bm25.trec").read_text().splitlines())
    )

"""The layout change (issues 13 and 14) keeps stage keys and fingerprints: a run folder and a
score store made by the code from before it are read by today's code with every stage cached
and nothing scored again."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import write_beir
from tests.test_pipeline import pipeline_config

REPO = Path(__file__).resolve().parents[1]
BEFORE = "99aa855"  # main before precision, backends and the layout moved


def old_package(target: Path) -> Path:
    """The `rankdistill` package as it was at BEFORE, unpacked under `target`."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", BEFORE, "rankdistill"],
            capture_output=True,
            check=True,
        ).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip(f"git history with {BEFORE} is not available")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def test_a_run_made_before_the_move_is_cached_after_it(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    beir = write_beir(write_beir(tmp_path / "tiny", split="train"), split="test")
    config = pipeline_config(tmp_path, beir, tiny_dense_model)
    old = old_package(tmp_path / "old")
    environment = {**os.environ, "PYTHONPATH": str(old), "RANKDISTILL_CPU_CAPABILITY": "AVX2"}
    made = subprocess.run(
        [sys.executable, "-m", "rankdistill.cli", "run", str(config)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    store = tmp_path / "runs" / "score-store"
    stored = sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file())
    assert stored, "the old code scored into the store"

    environment["PYTHONPATH"] = str(REPO)
    again = subprocess.run(
        [sys.executable, "-m", "rankdistill.cli", "run", str(config)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "mine cached, train cached, index cached, evaluate cached" in again.stdout, again.stdout[
        -800:
    ]
    assert (
        sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file()) == stored
    )  # nothing rescored

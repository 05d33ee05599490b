"""Run folders made by older code are read by today's with every stage cached and nothing scored
again: one from before the layout change (issues 13 and 14), and one from the last code before
versioned stage keys (key version 0, rankdistill/pipeline/key_migrations.py), and one from the last
code of key version 1."""

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
BEFORE_KEY_VERSIONS = "6ed6358"  # main before versioned stage keys (its keys are version 0)
BEFORE_FUSION = "02b34b5"  # main before `evaluate.fusion_weights` (its keys are version 1)


def old_package(target: Path, commit: str = BEFORE) -> Path:
    """The `rankdistill` package as it was at `commit`, unpacked under `target`."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", commit, "rankdistill"],
            capture_output=True,
            check=True,
        ).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip(f"git history with {commit} is not available")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.mark.parametrize("commit", [BEFORE, BEFORE_KEY_VERSIONS, BEFORE_FUSION])
def test_a_run_made_by_older_code_is_cached(
    tmp_path: Path, tiny_dense_model: str, commit: str
) -> None:
    beir = write_beir(write_beir(tmp_path / "tiny", split="train"), split="test")
    config = pipeline_config(tmp_path, beir, tiny_dense_model)
    old = old_package(tmp_path / "old", commit)
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

"""The documentation site: its reference pages are generated from the code and current, every
config field has a description (the comment beside it in the code), and `mkdocs build --strict`
passes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from gen_docs import config_sections, field_descriptions  # noqa: E402


def test_every_config_field_has_a_description() -> None:
    missing = [
        f"{where}.{f.name}"
        for where, cls in config_sections()
        for f in dataclasses.fields(cls)
        if f.name not in field_descriptions(cls)
    ]
    assert not missing, f"describe these fields with a comment beside them: {missing}"


def test_the_generated_reference_pages_are_current() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "config" / "index.html").is_file()

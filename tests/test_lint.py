"""The tree stays clean under ruff (pyproject.toml's [tool.ruff]: lint rules and format at line
length 100), and library code reports through logging and tqdm, not print (the CLI prints)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKED = ["rankdistill", "tests", "evaluation", "scripts", "examples"]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *CHECKED], capture_output=True, text=True, cwd=REPO
    )


def test_ruff_lint_is_clean() -> None:
    done = ruff("check", "--output-format", "concise")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


def test_ruff_format_is_clean() -> None:
    done = ruff("format", "--check")
    assert done.returncode == 0, "run `ruff format` on:\n" + done.stdout[-3000:]


def test_library_code_does_not_print() -> None:
    """Outside the CLI, messages go through logging or tqdm (tqdm.write keeps progress bars whole)."""
    found = []
    for path in sorted((REPO / "rankdistill").rglob("*.py")):
        if "cli" in path.relative_to(REPO / "rankdistill").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, found

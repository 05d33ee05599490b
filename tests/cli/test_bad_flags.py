"""Bad input, class 4: numeric command-line flags out of range. A flag that sets a config field
takes its argparse type from that field's declared range, so `--k 0` is refused at parse time
with exit 2, the flag named, and no traceback; nothing starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rankdistill.cli import main

COMMON = {
    "evaluate": ["evaluate", "--dataset", "scifact", "--retriever", "bm25"],
    "mine": [
        "mine",
        "--dataset",
        "scifact",
        "--retriever",
        "bm25",
        "--teacher",
        "bm25",
        "--store",
        "s",
        "--output",
        "o.jsonl",
    ],
    "score": [
        "score",
        "--dataset",
        "scifact",
        "--retriever",
        "bm25",
        "--teacher",
        "bm25",
        "--store",
        "s",
    ],
    "teacher": ["teacher", "train", "--dataset", "scifact", "--output", "o"],
    "build": [
        "index",
        "build",
        "--model",
        "m",
        "--dataset",
        "scifact",
        "--spec",
        "Flat",
        "--output",
        "o",
    ],
    "search": ["index", "search", "--index", "i", "--queries", "q.jsonl", "--output", "o"],
    "bench": ["index", "bench", "--spec", "Flat", "--output", "o"],
}


@pytest.mark.parametrize(
    ("command", "flag", "value", "message"),
    [
        ("evaluate", "--k", "0", "must be >= 1, got 0"),
        ("evaluate", "--k", "-5", "must be >= 1, got -5"),
        ("evaluate", "--k", "ten", "expected an int, got 'ten'"),
        ("evaluate", "--batch-size", "0", "must be >= 1"),
        ("evaluate", "--max-length", "0", "must be >= 1"),
        ("mine", "--n-top", "-1", "must be >= 0"),
        ("mine", "--depth", "0", "must be >= 1"),
        ("mine", "--fn-fraction", "0", "must be > 0"),
        ("mine", "--fn-margin", "inf", "must be a finite number"),
        ("mine", "--seed", "-1", "must be >= 0"),
        ("score", "--depth", "0", "must be >= 1"),
        ("teacher", "--lr", "-0.0001", "must be > 0"),
        ("teacher", "--lr", "nan", "must be a finite number"),
        ("teacher", "--warmup", "1.5", "must be < 1"),
        ("teacher", "--epochs", "0", "must be > 0"),
        ("teacher", "--negatives", "0", "must be >= 1"),
        ("build", "--chunk-size", "0", "must be >= 1"),
        ("build", "--train-size", "-1", "must be >= 1"),
        ("search", "--k", "0", "must be >= 1"),
        ("bench", "--rounds", "0", "must be >= 1"),
    ],
)
def test_out_of_range_flag_exits_2_naming_it(
    command: str, flag: str, value: str, message: str, capsys
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*COMMON[command], flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: {message}" in err


def test_evaluate_k_0_as_a_process(tiny_beir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rankdistill.cli",
            "evaluate",
            "--dataset",
            str(tiny_beir),
            "--retriever",
            "bm25",
            "--k",
            "0",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "argument --k: must be >= 1, got 0" in result.stderr and "Traceback" not in result.stderr
    assert "nDCG" not in result.stdout  # refused before any work


def test_in_range_flags_still_parse() -> None:
    from rankdistill.cli import build_parser

    args = build_parser().parse_args(
        [
            *COMMON["teacher"],
            "--lr",
            "3e-5",
            "--warmup",
            "0",
            "--max-steps",
            "-1",
            "--positives",
            "2",
        ]
    )
    assert (args.lr, args.warmup, args.max_steps, args.positives) == (3e-5, 0.0, -1, 2)

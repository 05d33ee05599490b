"""The CLI end to end on a tiny folder: outputs on disk, and user mistakes exit 2 without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rankdistill.cli import main
from rankdistill.core.errors import UserError
from rankdistill.evaluation import load_evaluation


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rankdistill.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_evaluate_writes_metrics_run_and_table(tiny_beir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert (
        main(["evaluate", "--dataset", str(tiny_beir), "--retriever", "bm25", "--output", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "| tiny | test | bm25 |" in printed
    metrics = json.loads((out / "tiny" / "bm25" / "metrics.json").read_text())
    assert metrics["num_queries"] == 4
    assert 0.5 < metrics["metrics"]["nDCG@10"] <= 1.0
    assert metrics["provenance"]["versions"]["rankdistill"]
    assert set(metrics["per_query"]) == {"q1", "q2", "q3", "q4"}
    run_lines = (out / "tiny" / "bm25" / "run.trec").read_text().splitlines()
    assert run_lines[0].split()[1] == "Q0"
    assert "nDCG@10" in (out / "results.md").read_text()
    saved = load_evaluation(out / "tiny" / "bm25")
    assert (saved["dataset"], saved["retriever"]) == ("tiny", "bm25")
    assert saved["per_query"] == metrics["per_query"]


def test_load_evaluation_names_the_folder_or_the_missing_field(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no metrics.json"):
        load_evaluation(tmp_path)
    (tmp_path / "metrics.json").write_text('{"dataset": "tiny", "retriever": "bm25"}')
    with pytest.raises(UserError, match="field 'per_query': missing"):
        load_evaluation(tmp_path)


def test_bad_corpus_line_exits_2_with_location_and_no_traceback(tiny_beir: Path) -> None:
    corpus = tiny_beir / "corpus.jsonl"
    corpus.write_text(corpus.read_text() + '{"_id": "d11"}\n')
    result = run_cli("evaluate", "--dataset", str(tiny_beir), "--retriever", "bm25")
    assert result.returncode == 2
    assert f"{corpus}:11: field 'text': missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_retriever_exits_2(tiny_beir: Path) -> None:
    result = run_cli("evaluate", "--dataset", str(tiny_beir), "--retriever", "colbert:x")
    assert result.returncode == 2 and "unknown retriever 'colbert:x'" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_config_evaluates_into_the_run_folder(tiny_beir: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(
        f"name: tiny-run\noutput_dir: {tmp_path / 'runs'}\nevaluate:\n  datasets: [{tiny_beir}]\n  retrievers: [bm25]\n  k: 5\n"
    )
    assert main(["run", str(config)]) == 0
    run_dir = tmp_path / "runs" / "tiny-run"
    recorded = json.loads((run_dir / "config.json").read_text())
    assert recorded["config"]["evaluate"]["k"] == 5 and recorded["config"]["seed"] == 13
    assert (run_dir / "stages" / "evaluate" / "tiny" / "bm25" / "run.trec").is_file()
    assert "nDCG@10" in (run_dir / "report.md").read_text()


def test_bad_config_key_names_line_and_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("name: x\nevaluate:\n  datasets: [scifact]\n  retreivers: [bm25]\n")
    result = run_cli("run", str(config))
    assert result.returncode == 2
    assert f"{config}:4: field 'evaluate.retreivers': unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_loads_no_torch() -> None:
    # every command module registers its flags at parse time: none may import a model library
    probe = "import sys; from rankdistill.cli import build_parser; build_parser(); print(sorted({'torch', 'sentence_transformers'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_encoding_flags_read_back_as_one_settings_object() -> None:
    from rankdistill.cli import build_parser
    from rankdistill.cli.common import encoding_settings
    from rankdistill.encoders.models import EncodingSettings

    flags = [
        "--batch-size",
        "8",
        "--max-length",
        "64",
        "--precision",
        "float32",
        "--backend",
        "onnx",
        "--device",
        "cpu",
    ]
    for command in (
        ["evaluate", "--dataset", "d", "--retriever", "bm25"],
        ["index", "build", "--model", "m", "--dataset", "d", "--spec", "Flat", "--output", "o"],
    ):
        assert encoding_settings(build_parser().parse_args([*command, *flags])) == EncodingSettings(
            8, 64, "cpu", "float32", "onnx"
        )


@pytest.mark.parametrize("case", ["output is a file", "output under a file", "permission denied"])
def test_an_unusable_output_path_exits_2_naming_it(
    case: str, tiny_beir: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--output naming an existing file, a folder under a file, or a folder the user may not
    write (EACCES; simulated: the tests run as root, where chmod does not bind)."""
    import errno
    import os

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = {"output is a file": blocker, "output under a file": blocker / "out"}.get(
        case, tmp_path / "locked" / "out"
    )
    if case == "permission denied":
        real = os.mkdir

        def denied(path, *args, **kwargs):
            if str(path).startswith(str(tmp_path / "locked")):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", denied)
    code = main(
        ["evaluate", "--dataset", str(tiny_beir), "--retriever", "bm25", "--output", str(out)]
    )
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("rankdistill: error: "), error
    assert str(tmp_path) in error and "Traceback" not in error
    assert blocker.read_text() == "not a folder"  # nothing written over the user's file

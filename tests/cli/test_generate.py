"""`rankdistill generate` then `rankdistill mine --queries`; a bad `generate` section of a run
config exits 2 with its location and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankdistill.cli import main
from tests.conftest import write_beir
from tests.test_generate import generated_config


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            ('generator: "keywords?k=4"', 'generator: "keywords?k=-1"'),
            "gen.yaml:10: field 'generate.generator': generator 'keywords?k=-1': setting 'k': must be >= 1",
        ),
        (
            ('generator: "keywords?k=4"', 'generator: "poetry"'),
            "gen.yaml:10: field 'generate.generator': unknown query generator 'poetry'",
        ),
        (
            ("mine: {queries: generated", "mine: {queries: imagined"),
            "gen.yaml:11: field 'mine.queries': expected one of split, generated",
        ),
        (
            ("generate: {", "#generate: {"),
            "gen.yaml:11: field 'mine.queries': generated queries need a 'generate' section",
        ),
        (
            ("mine: {queries: generated,", "mine: {"),
            "gen.yaml:10: field 'generate': a 'generate' section is used only with 'mine.queries: generated'",
        ),
    ],
)
def test_bad_generate_config_is_located(
    tmp_path: Path, tiny_dense_model: str, edit: tuple[str, str], message: str, capsys
) -> None:
    beir = write_beir(tmp_path / "tiny", split="test")
    path = generated_config(tmp_path, beir, tiny_dense_model)
    path.write_text(path.read_text().replace(*edit))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_generates_then_mines_the_generated_queries(tmp_path: Path, capsys) -> None:
    beir = write_beir(tmp_path / "tiny", split="test")
    assert (
        main(
            [
                "generate",
                "--dataset",
                str(beir),
                "--generator",
                "span?max_words=6",
                "--output",
                str(tmp_path / "gen"),
                "--seed",
                "4",
            ]
        )
        == 0
    )
    assert "queries 10" in capsys.readouterr().out
    assert (
        main(
            [
                "mine",
                "--dataset",
                str(beir),
                "--queries",
                str(tmp_path / "gen"),
                "--accept-rank",
                "1",
                "--retriever",
                "bm25",
                "--teacher",
                "bm25",
                "--store",
                str(tmp_path / "store"),
                "--n-top",
                "2",
                "--n-random",
                "2",
                "--depth",
                "10",
                "--output",
                str(tmp_path / "train.jsonl"),
            ]
        )
        == 0
    )
    meta = json.loads((tmp_path / "train.jsonl.meta.json").read_text())
    assert meta["config"]["split"] == "generated" and meta["config"]["accept_rank"] == 1
    counts = meta["counts"]
    assert (
        counts["queries"] == 10 and counts["positives_rejected"] == counts["queries_rejected"]
    )  # one source document each
    for line in (tmp_path / "train.jsonl").read_text().splitlines():
        record = json.loads(line)
        (positive,) = record["positives"]
        assert positive["doc_id"] == record["query_id"].split("#")[0]
        assert all(
            n["score"] <= positive["score"] for n in record["negatives"]
        )  # accept rank 1: the teacher put it first
    assert (
        main(
            [
                "generate",
                "--dataset",
                str(beir),
                "--generator",
                "span?max_words=x",
                "--output",
                str(tmp_path / "bad"),
            ]
        )
        == 2
    )
    assert "setting 'max_words': expected an int, got 'x'" in capsys.readouterr().err

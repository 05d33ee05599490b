"""Bad input, class 1: text encodings. Every text file goes through one decoder
(rankdistill/core/textfile.py): a UTF-8 byte-order mark is accepted; UTF-16, UTF-32 and invalid UTF-8
are located errors (file, line, what is wrong) that the CLI turns into exit 2 without a traceback."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rankdistill.core.config import load_config
from rankdistill.core.errors import InputError
from rankdistill.data import load_dataset, load_qrels, load_queries
from rankdistill.data.beir import load_corpus
from rankdistill.metrics import read_trec_run
from rankdistill.mining.records import read_training_set


def test_utf8_bom_is_accepted_in_every_kind_of_file(tiny_beir: Path, tmp_path: Path) -> None:
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        path = tiny_beir / name
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    dataset = load_dataset(tiny_beir, "test")
    assert "d1" in dataset.corpus and "q1" in dataset.queries and dataset.qrels["q1"] == {"d1": 1}

    config = tmp_path / "c.yaml"
    config.write_bytes(codecs.BOM_UTF8 + b"name: bom\nevaluate:\n  k: 7\n")
    assert load_config(config).evaluate.k == 7

    run = tmp_path / "run.trec"
    run.write_bytes(codecs.BOM_UTF8 + b"q1 Q0 d1 1 2.5 x\r\nq1 Q0 d2 2 1.5 x\r\n")
    assert read_trec_run(run) == {"q1": {"d1": 2.5, "d2": 1.5}}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_corpus_is_a_located_error(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes('{"_id": "a", "text": "café"}\n'.encode(encoding))
    with pytest.raises(InputError) as error:
        load_corpus(path)
    assert error.value.path == str(path) and error.value.line == 1
    assert "UTF-16" in str(error.value) or "UTF-32" in str(error.value)
    assert "save it as UTF-8" in str(error.value)


def test_invalid_utf8_names_the_line_and_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_bytes(b'{"_id": "q1", "text": "fine"}\n{"_id": "q2", "text": "caf\xe9 latin-1"}\n')
    with pytest.raises(InputError) as error:
        load_queries(path)
    assert error.value.line == 2
    assert "not valid UTF-8" in str(error.value) and "e9" in str(error.value)


def test_invalid_utf8_in_qrels_training_set_and_run_file(tmp_path: Path) -> None:
    qrels = tmp_path / "qrels.tsv"
    qrels.write_bytes(b"query-id\tcorpus-id\tscore\nq1\td\xff1\t1\n")
    with pytest.raises(InputError, match="not valid UTF-8") as error:
        load_qrels(qrels)
    assert error.value.line == 2

    training = tmp_path / "train.jsonl"
    training.write_bytes(b'{"query_id": "\xc3"}\n')
    with pytest.raises(InputError, match="not valid UTF-8") as error:
        read_training_set(training)
    assert error.value.line == 1

    run = tmp_path / "run.trec"
    run.write_bytes(b"q1 Q0 d1 1 1.0 x\nq1 Q0 d\x802 2 0.5 x\n")
    with pytest.raises(InputError, match="not valid UTF-8") as error:
        read_trec_run(run)
    assert error.value.line == 2


def test_utf16_config_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes("name: x\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16") as error:
        load_config(path)
    assert error.value.line == 1


def test_cli_exits_2_without_traceback_on_a_utf16_corpus(tiny_beir: Path) -> None:
    corpus = tiny_beir / "corpus.jsonl"
    corpus.write_bytes(corpus.read_text(encoding="utf-8").encode("utf-16"))
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
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert f"{corpus}:1: encoded as UTF-16" in result.stderr
    assert "Traceback" not in result.stderr


def test_literal_non_ascii_text_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        json.dumps({"_id": "a", "text": "naïve café, 東京, rÃ©my"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    assert load_corpus(path)["a"]["text"] == "naïve café, 東京, rÃ©my"


def test_a_lone_surrogate_escape_is_located_in_corpus_and_training_set(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "a", "text": "ok"}\n{"_id": "b", "text": "broken \\ud800 escape"}\n')
    with pytest.raises(InputError, match="lone surrogate") as error:
        load_corpus(corpus)
    assert (error.value.line, error.value.field) == (2, "text")

    training = tmp_path / "train.jsonl"
    training.write_text(
        '{"query_id": "q1", "query": "x\\udfff", "positives": [], "negatives": [], "teacher": "t"}\n'
    )
    with pytest.raises(InputError, match="lone surrogate") as error:
        read_training_set(training)
    assert (error.value.line, error.value.field) == (1, "query")

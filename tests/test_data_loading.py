"""BEIR loading: a valid folder loads; every validation rule names file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankdistill.core.errors import InputError, UserError
from rankdistill.data import load_corpus, load_dataset, load_qrels, load_queries
from rankdistill.data.beir import join_title_text


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_valid_folder_loads_split_queries_only(tiny_beir: Path) -> None:
    dataset = load_dataset(tiny_beir, "test")
    assert len(dataset.corpus) == 10
    assert set(dataset.queries) == {"q1", "q2", "q3", "q4"}  # q5 is not judged in this split
    assert dataset.qrels["q2"] == {"d7": 2, "d4": 1}
    assert dataset.doc_text("d1").startswith("Photosynthesis Plants convert")
    assert dataset.warnings == []


def test_title_is_optional_and_joined_like_beir() -> None:
    assert join_title_text({"title": "", "text": "body"}) == "body"
    assert join_title_text({"title": "T", "text": "body"}) == "T body"


def test_malformed_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "corpus.jsonl", ['{"_id": "a", "text": "x"}', '{"_id": "b", "text": ']
    )
    with pytest.raises(InputError) as error:
        load_corpus(path)
    assert error.value.line == 2
    assert f"{path}:2" in str(error.value) and "invalid JSON" in str(error.value)


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({"text": "no id"}, "_id", "missing"),
        ({"_id": "a"}, "text", "missing"),
        ({"_id": "a", "text": 7}, "text", "expected a string"),
        ({"_id": "", "text": "x"}, "_id", "empty id"),
        (
            {"_id": "doc 7", "text": "x"},
            "_id",
            "contains ' ': ids cannot hold whitespace",
        ),  # TREC run files split on it
        ({"_id": "doc\t7", "text": "x"}, "_id", "contains '\\t'"),
    ],
)
def test_corpus_field_errors(tmp_path: Path, record: dict, field: str, message: str) -> None:
    path = write_lines(
        tmp_path / "corpus.jsonl", ['{"_id": "ok", "text": "fine"}', json.dumps(record)]
    )
    with pytest.raises(InputError) as error:
        load_corpus(path)
    assert (error.value.line, error.value.field) == (2, field)
    assert message in str(error.value)


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    lines = ['{"_id": "a", "text": "x"}', '{"_id": "b", "text": "y"}', '{"_id": "a", "text": "z"}']
    with pytest.raises(InputError) as error:
        load_corpus(write_lines(tmp_path / "corpus.jsonl", lines))
    assert error.value.line == 3 and error.value.field == "_id"
    assert "first on line 1" in str(error.value)


def test_empty_query_text_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        load_queries(write_lines(tmp_path / "queries.jsonl", ['{"_id": "q", "text": ""}']))
    assert error.value.field == "text"


def test_integer_ids_are_read_as_strings(tmp_path: Path) -> None:
    corpus = load_corpus(write_lines(tmp_path / "corpus.jsonl", ['{"_id": 12, "text": "x"}']))
    assert list(corpus) == ["12"]


QUERIES = {"q1": "a", "q2": "b"}
CORPUS = {"d1": {"title": "", "text": "x"}, "d2": {"title": "", "text": "y"}}


def qrels_file(tmp_path: Path, rows: list[str]) -> Path:
    return write_lines(tmp_path / "qrels" / "test.tsv", ["query-id\tcorpus-id\tscore", *rows])


def test_qrels_unknown_query_is_an_error(tmp_path: Path) -> None:
    path = qrels_file(tmp_path, ["q1\td1\t1", "q9\td2\t1"])
    with pytest.raises(InputError) as error:
        load_qrels(path, QUERIES, CORPUS)
    assert (error.value.line, error.value.field) == (3, "query-id")
    assert "'q9'" in str(error.value)


def test_qrels_unknown_doc_is_an_error_by_default(tmp_path: Path) -> None:
    path = qrels_file(tmp_path, ["q1\td1\t1", "q2\tgone\t1"])
    with pytest.raises(InputError) as error:
        load_qrels(path, QUERIES, CORPUS)
    assert (error.value.line, error.value.field) == (3, "corpus-id")


def test_qrels_unknown_doc_can_be_a_counted_warning(tmp_path: Path) -> None:
    path = qrels_file(tmp_path, ["q1\td1\t1", "q2\tgone\t1", "q2\talso-gone\t0"])
    warnings: list[str] = []
    qrels = load_qrels(path, QUERIES, CORPUS, unknown_docs="warn", warnings=warnings)
    assert qrels["q2"] == {"gone": 1, "also-gone": 0}  # kept: the ideal DCG needs them
    assert len(warnings) == 1 and "2 judgement(s)" in warnings[0] and "line 3" in warnings[0]


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("q1\td1\thigh", "score", "not an integer"),
        ("q1\td1", None, "expected 3 tab-separated columns"),
        ("q1 d1 1", None, "expected 3 tab-separated columns"),
        ("\td1\t1", "query-id", "empty"),
        ("q 1\td1\t1", "query-id", "contains ' '"),
        ("q1\td 1\t1", "corpus-id", "contains ' '"),
    ],
)
def test_qrels_row_errors(tmp_path: Path, row: str, field: str | None, message: str) -> None:
    with pytest.raises(InputError) as error:
        load_qrels(qrels_file(tmp_path, ["q1\td2\t1", row]), QUERIES, CORPUS)
    assert error.value.line == 3 and error.value.field == field
    assert message in str(error.value)


def test_qrels_conflicting_grades(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="conflicting grades"):
        load_qrels(qrels_file(tmp_path, ["q1\td1\t1", "q1\td1\t2"]), QUERIES, CORPUS)


def test_missing_split_lists_available_ones(tiny_beir: Path) -> None:
    with pytest.raises(UserError, match=r"no such split 'dev'; available: test"):
        load_dataset(tiny_beir, "dev")


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="file not found"):
        load_corpus(tmp_path / "corpus.jsonl")

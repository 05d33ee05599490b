"""Bad input, class 2: empty documents. A document with neither title nor text is left out of
the corpus with one counted warning (it could never be retrieved); the load goes on. An empty
query is still an error: a query is what the user asks about."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rankdistill.core.errors import InputError
from rankdistill.data import load_dataset, load_queries
from rankdistill.data.beir import load_corpus
from tests.conftest import TINY_CORPUS, write_beir


def test_empty_documents_are_skipped_with_one_counted_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = {**TINY_CORPUS, "e1": ("", ""), "e2": ("  ", "\t")}
    folder = write_beir(tmp_path / "b", corpus=corpus)
    with caplog.at_level(logging.WARNING):
        dataset = load_dataset(folder, "test")
    assert set(dataset.corpus) == set(TINY_CORPUS)
    assert len(dataset.warnings) == 1
    assert (
        "skipped 2 empty document(s)" in dataset.warnings[0]
        and "line 11, 'e1'" in dataset.warnings[0]
    )
    assert dataset.warnings[0] in caplog.text


def test_a_judgement_on_an_empty_document_is_kept_and_counted_not_an_error(tmp_path: Path) -> None:
    folder = write_beir(
        tmp_path / "b", corpus={**TINY_CORPUS, "e1": ("", "")}, qrels={"q1": {"d1": 1, "e1": 1}}
    )
    dataset = load_dataset(
        folder, "test"
    )  # unknown documents are an error for own data; empty ones are not
    assert dataset.qrels["q1"] == {"d1": 1, "e1": 1} and "e1" not in dataset.corpus
    assert any("1 judgement(s) name empty documents" in w for w in dataset.warnings)


def test_a_corpus_of_only_empty_documents_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"_id": "a", "title": "", "text": ""}) + "\n")
    with pytest.raises(InputError, match=r"no documents \(1 empty ones"):
        load_corpus(path)


def test_an_empty_query_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_text(
        json.dumps({"_id": "q1", "text": "fine"})
        + "\n"
        + json.dumps({"_id": "q2", "text": " "})
        + "\n"
    )
    with pytest.raises(InputError) as error:
        load_queries(path)
    assert (error.value.line, error.value.field) == (2, "text")


def test_bm25_never_returns_an_empty_document(tmp_path: Path) -> None:
    from rankdistill.evaluation import evaluate_many

    folder = write_beir(
        tmp_path / "b", corpus={**TINY_CORPUS, "e1": ("", "")}, qrels={"q1": {"d1": 1, "e1": 1}}
    )
    [evaluation] = evaluate_many(datasets=[str(folder)], retrievers=["bm25"], k=100)
    assert all("e1" not in hits for hits in evaluation.results.values())

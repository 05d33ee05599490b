"""The corpus read in place (data.corpus_file.CorpusFile): the same documents as parsing every line,
no texts held or pickled, and a file changed under a run is an error, not another document."""

from __future__ import annotations

import json
import os
import pickle

import pytest

from rankdistill.core.errors import UserError
from rankdistill.data.beir import load_corpus
from rankdistill.data.corpus_file import CorpusFile
from rankdistill.data.open import DocumentTexts

LINES = [
    '\ufeff{"_id": "a", "title": "T\\u00e9 one", "text": "first text"}',
    '{"_id": 7, "text": "no title \\ud83d\\ude00"}',
    "",
    '{"_id": "empty", "title": "", "text": "  "}',
    '{"_id": "c", "title": "third", "text": "line\\nbreak", "extra": [1, 2]}',
]


@pytest.fixture
def corpus_path(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes("\r\n".join(LINES).encode("utf-8"))
    return path


def test_same_documents_as_parsing_each_line(corpus_path):
    corpus = load_corpus(corpus_path)
    assert isinstance(corpus, CorpusFile)
    expected = {
        "a": {"title": "Té one", "text": "first text"},
        "7": {"title": "", "text": "no title \U0001f600"},
        "c": {"title": "third", "text": "line\nbreak"},
    }
    assert list(corpus) == list(expected)  # file order, the empty document left out
    assert corpus == expected and dict(corpus.items()) == expected
    assert "empty" not in corpus and "c" in corpus and len(corpus) == 3
    with pytest.raises(KeyError):
        corpus["missing"]
    texts = DocumentTexts(corpus, list(corpus))
    assert texts[0] == "Té one first text" and texts[1:] == [
        "no title \U0001f600",
        "third line\nbreak",
    ]
    assert len(texts) == 3 and list(texts)[2] == "third line\nbreak"


def test_pickles_without_its_texts(tmp_path):
    path = tmp_path / "corpus.jsonl"
    long = "word " * 2000
    path.write_text("".join(json.dumps({"_id": f"d{i}", "text": long}) + "\n" for i in range(50)))
    corpus = load_corpus(path)
    assert corpus["d3"]["text"] == long  # mapped once before pickling
    blob = pickle.dumps(corpus)
    assert len(blob) < 5_000 < path.stat().st_size  # ids and spans, not 500 KB of text
    again = pickle.loads(blob)
    assert again == corpus and again["d49"]["text"] == long


def test_a_changed_file_is_an_error(corpus_path):
    corpus = load_corpus(corpus_path)
    corpus_path.write_bytes(corpus_path.read_bytes().replace(b"first", b"FIRST"))
    os.utime(corpus_path, ns=(1, 1))  # a rewrite within the clock's resolution still changes mtime
    with pytest.raises(UserError, match="changed after it was read"):
        corpus["a"]

"""Read a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), validating as it reads.

Every problem is reported with file, line and field. The format, as BEIR defines it:

    corpus.jsonl     {"_id": str, "title": str (optional), "text": str}   one per line
    queries.jsonl    {"_id": str, "text": str}                            one per line
    qrels/SPLIT.tsv  query-id <TAB> corpus-id <TAB> score                 with a header line
"""

from __future__ import annotations

import json
import logging
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rankdistill.core.errors import InputError, UserError
from rankdistill.core.textfile import located_lines, text_lines
from rankdistill.data.corpus_file import CorpusFile

log = logging.getLogger(__name__)

UnknownPolicy = Literal["error", "warn"]


@dataclass
class BeirDataset:
    """One split of a BEIR dataset: the whole corpus, the split's queries and its judgements."""

    name: str
    path: Path
    split: str
    corpus: Mapping[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)

    def doc_text(self, doc_id: str) -> str:
        """The text a model sees for a document: BEIR's "title text" convention."""
        return join_title_text(self.corpus[doc_id])


def join_title_text(doc: dict[str, str]) -> str:
    title = doc.get("title", "")
    return f"{title} {doc['text']}".strip() if title else doc["text"]


def jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; InputError on bad JSON or a non-object."""
    for line_no, _, _, record in located_records(path):
        yield line_no, record


def located_records(path: Path) -> Iterator[tuple[int, int, int, dict]]:
    """`jsonl_records` with each line's byte span (core.textfile.located_lines)."""
    for line_no, start, end, line in located_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                path, f"invalid JSON ({exc.msg}, column {exc.colno})", line_no
            ) from None
        except RecursionError:
            raise InputError(path, "invalid JSON (nested too deeply)", line_no) from None
        if not isinstance(record, dict):
            raise InputError(path, f"expected a JSON object, got {type(record).__name__}", line_no)
        yield line_no, start, end, record


def _string_field(path: Path, line_no: int, record: dict, name: str, required: bool) -> str:
    if name not in record:
        if required:
            raise InputError(path, "missing", line_no, name)
        return ""
    value = record[name]
    if name == "_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InputError(path, f"expected a string, got {type(value).__name__}", line_no, name)
    check_encodable(path, line_no, name, value)
    return value


def check_encodable(path: Path, line_no: int, name: str, value: str) -> None:
    """JSON's \\ud800-style escapes can spell a lone surrogate, which no model or hash can encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            path,
            f"lone surrogate {value[exc.start]!r} at character {exc.start + 1} (a broken \\u escape)",
            line_no,
            name,
        ) from None


def check_id_characters(path: Path, line_no: int, value: str, field: str) -> None:
    """An id must survive the whitespace-separated formats it is written to (TREC run files,
    qrels): whitespace or a control character in it is a located error."""
    bad = next((c for c in value if c.isspace() or ord(c) < 32), None)
    if bad is not None:
        raise InputError(
            path,
            f"id {value!r} contains {bad!r}: ids cannot hold whitespace or control characters "
            "(TREC run files and qrels separate their columns with it)",
            line_no,
            field,
        )


def _checked_id(path: Path, line_no: int, record: dict, first_seen: dict[str, int]) -> str:
    doc_id = _string_field(path, line_no, record, "_id", required=True)
    if not doc_id.strip():
        raise InputError(path, "empty id", line_no, "_id")
    check_id_characters(path, line_no, doc_id, "_id")
    if doc_id in first_seen:
        raise InputError(
            path, f"duplicate id {doc_id!r} (first on line {first_seen[doc_id]})", line_no, "_id"
        )
    first_seen[doc_id] = line_no
    return doc_id


def load_corpus(
    path: str | Path, warnings: list[str] | None = None, empty: set[str] | None = None
) -> CorpusFile:
    """corpus.jsonl -> {doc_id: {"title": ..., "text": ...}}, read in place: a CorpusFile holds
    the ids and where each line is, and parses a document's fields when asked for them.

    A document with neither title nor text is left out (nothing could ever retrieve it) and
    counted in one warning; its id goes into `empty`, so judgements on it can be told apart
    from judgements on documents that do not exist.
    """
    path = Path(path)
    ids: list[str] = []
    starts, ends = array("q"), array("q")
    first_seen: dict[str, int] = {}
    skipped: list[tuple[int, str]] = []
    for line_no, start, end, record in located_records(path):
        doc_id = _checked_id(path, line_no, record, first_seen)
        text = _string_field(path, line_no, record, "text", required=True)
        title = _string_field(path, line_no, record, "title", required=False)
        if not text.strip() and not title.strip():
            skipped.append((line_no, doc_id))
            continue
        ids.append(doc_id)
        starts.append(start)
        ends.append(end)
    if not ids:
        raise InputError(
            path,
            "no documents"
            + (f" ({len(skipped)} empty ones, without title and text)" if skipped else ""),
        )
    if skipped:
        first_line, first_id = skipped[0]
        _warn(
            warnings,
            f"{path}: skipped {len(skipped)} empty document(s) without title and text (first: line {first_line}, {first_id!r})",
        )
        if empty is not None:
            empty.update(doc_id for _, doc_id in skipped)
    return CorpusFile(path, ids, starts, ends)


def _warn(warnings: list[str] | None, message: str) -> None:
    log.warning(message)
    if warnings is not None:
        warnings.append(message)


def load_queries(path: str | Path) -> dict[str, str]:
    """queries.jsonl -> {query_id: text}."""
    path = Path(path)
    queries: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    for line_no, record in jsonl_records(path):
        query_id = _checked_id(path, line_no, record, first_seen)
        text = _string_field(path, line_no, record, "text", required=True)
        if not text.strip():
            raise InputError(path, "empty query text", line_no, "text")
        queries[query_id] = text
    if not queries:
        raise InputError(path, "no queries")
    return queries


def load_qrels(
    path: str | Path,
    queries: dict[str, str] | None = None,
    corpus: Mapping[str, dict[str, str]] | None = None,
    unknown_docs: UnknownPolicy = "error",
    warnings: list[str] | None = None,
    empty_docs: set[str] = frozenset(),
) -> dict[str, dict[str, int]]:
    """qrels/SPLIT.tsv -> {query_id: {doc_id: grade}}.

    A row naming a query missing from `queries` is an error. A row naming a document missing from
    `corpus` is an error, or with ``unknown_docs="warn"`` is kept and counted in one warning
    (official data has such rows: 5 in ArguAna, most of the MS MARCO TREC-DL slice by design).
    A row naming one of `empty_docs` (left out of the corpus by `load_corpus`) is kept and counted.
    """
    path = Path(path)
    judgements = Judgements(path, queries, corpus, unknown_docs, empty_docs)
    for line_no, line in text_lines(path):
        if not line.strip():
            continue
        columns = line.split("\t")
        if line_no == 1 and columns[:2] == ["query-id", "corpus-id"]:
            continue
        if len(columns) != 3:
            raise InputError(path, f"expected 3 tab-separated columns, got {len(columns)}", line_no)
        query_id, doc_id, score = (column.strip() for column in columns)
        try:
            grade = int(score)
        except ValueError:
            raise InputError(path, f"not an integer: {score!r}", line_no, "score") from None
        if not query_id:
            raise InputError(path, "empty", line_no, "query-id")
        if not doc_id:
            raise InputError(path, "empty", line_no, "corpus-id")
        check_id_characters(path, line_no, query_id, "query-id")
        check_id_characters(path, line_no, doc_id, "corpus-id")
        judgements.add(line_no, query_id, doc_id, grade)
    return judgements.finish(warnings)


class Judgements:
    """Judgements collected under the rules of `load_qrels`, from a qrels file or any other source
    of (query, document, grade) records (`irds:` ids): `where` names the source in errors,
    `unit` and `fields` how a record and its fields are called there."""

    def __init__(
        self,
        where: str | Path,
        queries: dict[str, str] | None,
        corpus: Mapping[str, dict[str, str]] | None,
        unknown_docs: UnknownPolicy,
        empty_docs: set[str] = frozenset(),
        unit: str = "line",
        fields: tuple[str, str, str] = ("query-id", "corpus-id", "score"),
    ):
        self.where, self.queries, self.corpus, self.unknown_docs, self.empty_docs = (
            where,
            queries,
            corpus,
            unknown_docs,
            empty_docs,
        )
        self.unit, self.fields = unit, fields
        self.qrels: dict[str, dict[str, int]] = {}
        self.unknown: list[tuple[int, str]] = []
        self.on_empty: list[tuple[int, str]] = []

    def add(self, number: int, query_id: str, doc_id: str, grade: int) -> None:
        query_field, doc_field, grade_field = self.fields
        if self.queries is not None and query_id not in self.queries:
            raise InputError(self.where, f"unknown query id {query_id!r}", number, query_field)
        if doc_id in self.empty_docs:
            self.on_empty.append((number, doc_id))
        elif self.corpus is not None and doc_id not in self.corpus:
            if self.unknown_docs == "error":
                raise InputError(self.where, f"unknown document id {doc_id!r}", number, doc_field)
            self.unknown.append((number, doc_id))
        judged = self.qrels.setdefault(query_id, {})
        if doc_id in judged and judged[doc_id] != grade:
            raise InputError(
                self.where, f"conflicting grades for ({query_id}, {doc_id})", number, grade_field
            )
        judged[doc_id] = grade

    def finish(self, warnings: list[str] | None = None) -> dict[str, dict[str, int]]:
        """{query_id: {doc_id: grade}}; one counted warning for judgements on unknown or empty documents."""
        if not self.qrels:
            raise InputError(self.where, "no judgements")
        if self.unknown:
            first, first_id = self.unknown[0]
            _warn(
                warnings,
                f"{self.where}: {len(self.unknown)} judgement(s) name documents not in the corpus "
                f"(first: {self.unit} {first}, {first_id!r}); kept for evaluation",
            )
        if self.on_empty:
            first, first_id = self.on_empty[0]
            _warn(
                warnings,
                f"{self.where}: {len(self.on_empty)} judgement(s) name empty documents left out of the corpus "
                f"(first: {self.unit} {first}, {first_id!r}); kept for evaluation, never retrieved",
            )
        return self.qrels


def available_splits(path: str | Path) -> list[str]:
    return sorted(p.stem for p in (Path(path) / "qrels").glob("*.tsv"))


def load_dataset(
    path: str | Path, split: str, name: str | None = None, unknown_docs: UnknownPolicy = "error"
) -> BeirDataset:
    """Load one split of a BEIR folder; queries are those judged in that split, as BEIR does."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: not a directory")
    qrels_path = path / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        splits = available_splits(path)
        raise UserError(
            f"{qrels_path}: no such split {split!r}; available: {', '.join(splits) or 'none'}"
        )
    warnings: list[str] = []
    empty: set[str] = set()
    corpus = load_corpus(path / "corpus.jsonl", warnings, empty)
    all_queries = load_queries(path / "queries.jsonl")
    qrels = load_qrels(
        qrels_path,
        all_queries,
        corpus,
        unknown_docs=unknown_docs,
        warnings=warnings,
        empty_docs=empty,
    )
    queries = {query_id: all_queries[query_id] for query_id in qrels}
    return BeirDataset(name or path.name, path, split, corpus, queries, qrels, warnings)

"""ir_datasets as a dataset source: `irds:<id>`, e.g. `irds:beir/nfcorpus/test` or
`irds:msmarco-passage/trec-dl-2019/judged`.

A dataset with docs, queries and qrels becomes the same validated corpus / queries / qrels a BEIR
folder gives, under the same rules (empty or duplicate ids, empty documents and queries, unknown
query ids are errors; judgements on documents outside the corpus are an error, or a counted
warning for official data known to have them). Documents are streamed from ir_datasets' docstore
one at a time and only their title and text are kept. A problem is located by the ir_datasets id,
the component (docs, queries, qrels), the record number (1-based) and the field.

ir_datasets downloads each source once into $IR_DATASETS_HOME (default ~/.ir_datasets) and checks
its md5; offline, put the file where it would download it (BEIR: `beir/<name>/source.zip`, the
official BEIR zip) and nothing is fetched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rankdistill.core.errors import InputError, UserError
from rankdistill.data.beir import BeirDataset, Judgements, UnknownPolicy

PREFIX = "irds:"
# Document fields tried, in order, for the text a model sees (the title is kept apart).
TEXT_FIELDS = ("text", "body", "passage", "abstract", "contents")


def is_irds(name: str) -> bool:
    return name.startswith(PREFIX)


def _module() -> Any:
    try:
        import ir_datasets
    except ImportError:
        raise UserError(
            "irds: datasets need the ir_datasets package: pip install 'rankdistill[irds]'"
        ) from None
    return ir_datasets


def registered(dataset_id: str) -> bool:
    try:
        _module().registry[dataset_id]  # also matches ids ir_datasets registers by pattern
    except KeyError:
        return False
    return True


def load_irds(dataset_id: str) -> Any:
    """The ir_datasets dataset object for an id (without the `irds:` prefix)."""
    if not registered(dataset_id):
        raise UserError(
            f"irds:{dataset_id}: not an ir_datasets id (`ir_datasets list` prints them; e.g. irds:beir/nfcorpus/test)"
        )
    return _module().load(dataset_id)


def split_id(name: str, split: str | None) -> str:
    """The ir_datasets id one split of `irds:<id>` names: `<id>/<split>` when ir_datasets has it
    (`irds:beir/nfcorpus` + train), else `<id>` when the split is None or is its last part."""
    dataset_id = name[len(PREFIX) :].strip("/")
    if not dataset_id:
        raise UserError(
            f"{name!r}: give an ir_datasets id after 'irds:', e.g. irds:beir/nfcorpus/test"
        )
    if split is None or dataset_id.rsplit("/", 1)[-1] == split:
        return dataset_id
    if registered(f"{dataset_id}/{split}"):
        return f"{dataset_id}/{split}"
    raise UserError(
        f"{name}: no split {split!r} (ir_datasets has no {dataset_id}/{split}); name the subset in the id, "
        f"e.g. irds:{dataset_id.rsplit('/', 1)[0]}/{split}, or leave the split out"
    )


def _fetch_error(dataset_id: str, component: str, exc: Exception) -> UserError:
    home = Path(os.environ.get("IR_DATASETS_HOME") or Path.home() / ".ir_datasets")
    return UserError(
        f"irds:{dataset_id}: cannot read its {component} ({type(exc).__name__}: {exc}). ir_datasets reads its files from "
        f"{home}; offline, place the source there (BEIR: {home}/beir/<name>/source.zip, the official zip)"
    )


def _records(dataset: Any, dataset_id: str, component: str) -> Iterator[tuple[int, Any]]:
    """(record number, record) of one component, with fetch failures as a UserError."""
    iterate = getattr(dataset, f"{component}_iter")
    try:
        yield from enumerate(iterate(), start=1)
    except (
        OSError,
        RuntimeError,
        ValueError,
    ) as exc:  # download refused offline, bad md5, unreadable archive
        raise _fetch_error(dataset_id, component, exc) from exc


def doc_title_text(doc: Any) -> tuple[str, str]:
    """(title, text) of an ir_datasets document: its `title` field (or ""), and the first of
    TEXT_FIELDS it has, else its `default_text()`."""
    title = getattr(doc, "title", "") or ""
    for name in TEXT_FIELDS:
        value = getattr(doc, name, None)
        if isinstance(value, str):
            return title, value
    return "", doc.default_text()


def _checked_id(where: str, number: int, value: Any, field: str, seen: dict[str, int]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(where, "empty id", number, field)
    if value in seen:
        raise InputError(
            where, f"duplicate id {value!r} (first at record {seen[value]})", number, field
        )
    seen[value] = number
    return value


def irds_corpus(dataset_id: str) -> dict[str, dict[str, str]]:
    """{doc_id: {"title", "text"}} of an ir_datasets corpus, validated as BEIR's corpus.jsonl."""
    dataset = load_irds(dataset_id)
    if not dataset.has_docs():
        raise UserError(f"irds:{dataset_id}: has no documents")
    where = f"irds:{dataset_id} docs"
    corpus: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for number, doc in _records(dataset, dataset_id, "docs"):
        doc_id = _checked_id(where, number, doc.doc_id, "doc_id", seen)
        title, text = doc_title_text(doc)
        if not text.strip() and not title.strip():
            raise InputError(where, "empty document (no title and no text)", number, "text")
        corpus[doc_id] = {"title": title, "text": text}
    if not corpus:
        raise InputError(where, "no documents")
    return corpus


def irds_queries(dataset_id: str) -> dict[str, str]:
    """{query_id: text}: each query's `text` field, else its `default_text()`."""
    dataset = load_irds(dataset_id)
    if not dataset.has_queries():
        raise UserError(f"irds:{dataset_id}: has no queries")
    where = f"irds:{dataset_id} queries"
    queries: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, query in _records(dataset, dataset_id, "queries"):
        query_id = _checked_id(where, number, query.query_id, "query_id", seen)
        text = query.text if isinstance(getattr(query, "text", None), str) else query.default_text()
        if not text.strip():
            raise InputError(where, "empty query text", number, "text")
        queries[query_id] = text
    if not queries:
        raise InputError(where, "no queries")
    return queries


def irds_qrels(
    dataset_id: str,
    queries: dict[str, str],
    corpus: dict[str, dict[str, str]],
    unknown_docs: UnknownPolicy,
    warnings: list[str],
) -> dict[str, dict[str, int]]:
    """{query_id: {doc_id: grade}} under the rules of `load_qrels` for a BEIR qrels file."""
    dataset = load_irds(dataset_id)
    if not dataset.has_qrels():
        raise UserError(
            f"irds:{dataset_id}: has no qrels (relevance judgements); evaluation and mining need them"
        )
    where = f"irds:{dataset_id} qrels"
    judgements = Judgements(
        where,
        queries,
        corpus,
        unknown_docs,
        unit="record",
        fields=("query_id", "doc_id", "relevance"),
    )
    for number, qrel in _records(dataset, dataset_id, "qrels"):
        if not isinstance(qrel.relevance, int):
            raise InputError(where, f"not an integer: {qrel.relevance!r}", number, "relevance")
        judgements.add(number, qrel.query_id, qrel.doc_id, qrel.relevance)
    return judgements.finish(warnings)


def load_irds_dataset(
    dataset_id: str, split: str, unknown_docs: UnknownPolicy = "error"
) -> BeirDataset:
    """One ir_datasets dataset as a BeirDataset named `irds:<id>`: its whole corpus, its judged
    queries (as BEIR keeps the queries of a split) and its qrels."""
    dataset = load_irds(dataset_id)
    for component in ("docs", "queries", "qrels"):
        if not getattr(dataset, f"has_{component}")():
            raise UserError(
                f"irds:{dataset_id}: has no {component}; evaluation and mining need docs, queries and qrels"
            )
    corpus = irds_corpus(dataset_id)
    all_queries = irds_queries(dataset_id)
    warnings: list[str] = []
    qrels = irds_qrels(dataset_id, all_queries, corpus, unknown_docs, warnings)
    queries = {query_id: all_queries[query_id] for query_id in qrels}
    return BeirDataset(
        f"{PREFIX}{dataset_id}",
        Path(f"{PREFIX}{dataset_id}"),
        split,
        corpus,
        queries,
        qrels,
        warnings,
    )

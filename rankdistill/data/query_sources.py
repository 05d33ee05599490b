"""Queries without judgements: a split's queries with its qrels never opened, a query log, and the
fixed hash halves that simulate a log on a dataset with no training queries (ArguAna).

    unlabeled      every query of the dataset's queries.jsonl except the evaluated ones: the
                   queries a search team has seen, minus those it measures on (on SciFact, the
                   809 training queries, read without qrels/train.tsv)
    file:PATH      a query log: one query a line (id "log-<line>"), or JSONL with `_id` / `text`

Both give a `BeirDataset` with the whole corpus, the queries, and no judgements (`qrels` is
empty, `split` is "unlabeled" or "log"): whoever mines it has the teacher choose the positives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path

from rankdistill.core.errors import InputError, UserError
from rankdistill.core.textfile import text_lines
from rankdistill.data.beir import BeirDataset, check_encodable, check_id_characters, load_queries
from rankdistill.data.open import open_corpus

UNLABELED = "unlabeled"
LOG_PREFIX = "file:"
HALVES = ("a", "b")
HALF_SALT = "rankdistill-half:"
BUDGET_SALT = "rankdistill-budget:"


def is_label_free(source: str) -> bool:
    """Whether a `mine.queries` source comes without judgements."""
    return source == UNLABELED or source.startswith(LOG_PREFIX)


def query_half(query_id: str) -> str:
    """ "a" or "b": a fixed split of query ids by hash, independent of order and seed."""
    return HALVES[hashlib.sha256(f"{HALF_SALT}{query_id}".encode()).digest()[0] % 2]


def in_half(queries: dict[str, str], half: str | None) -> dict[str, str]:
    """The queries of one hash half (all of them for None)."""
    if half is None:
        return dict(queries)
    if half not in HALVES:
        raise UserError(f"query half {half!r}: expected one of {', '.join(HALVES)}")
    return {q: text for q, text in queries.items() if query_half(q) == half}


def judged_budget(
    qrels: dict[str, dict[str, int]], n: int, seed: int, among: Collection[str] | None = None
) -> set[str]:
    """The `n` judged queries a label budget keeps: those with a positive (grade > 0), among
    `among` if given, in an order fixed by a hash of the seed and the query id. A smaller budget
    is a subset of a larger one under the same seed, so a label-budget curve adds queries."""
    allowed = None if among is None else set(among)
    judged = [
        q
        for q, docs in qrels.items()
        if any(g > 0 for g in docs.values()) and (allowed is None or q in allowed)
    ]
    if n > len(judged):
        raise UserError(
            f"a label budget of {n} judged queries, but only {len(judged)} have a judged positive"
        )
    judged.sort(key=lambda q: hashlib.sha256(f"{BUDGET_SALT}{seed}:{q}".encode()).hexdigest())
    return set(judged[:n])


def load_query_log(path: str | Path) -> dict[str, str]:
    """A query log: JSONL with `_id` and `text` (as BEIR's queries.jsonl) when the first non-blank
    line is a JSON object, else one query per line, numbered by line ("log-<line>"). Blank lines
    are skipped; a repeated text keeps its first line (a log repeats popular queries)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such query log (mine.queries: file:PATH)")
    lines = [(n, line) for n, line in text_lines(path) if line.strip()]
    if not lines:
        raise InputError(path, "the query log is empty")
    if lines[0][1].lstrip().startswith("{"):
        return load_queries(path)
    queries: dict[str, str] = {}
    seen: set[str] = set()
    for line_no, line in lines:
        text = line.strip()
        check_encodable(path, line_no, "text", text)
        if "\t" in text:  # "id<TAB>text", as MS MARCO's queries.tsv
            query_id, _, text = text.partition("\t")
            query_id, text = query_id.strip(), text.strip()
            if not query_id or not text:
                raise InputError(path, "expected 'id<TAB>text' or a query without tabs", line_no)
            check_id_characters(path, line_no, query_id, "id")
        else:
            query_id = f"log-{line_no}"
        if query_id in queries:
            raise InputError(path, f"duplicate query id {query_id!r}", line_no)
        if text in seen:
            continue
        seen.add(text)
        queries[query_id] = text
    return queries


def open_unlabeled(
    name_or_path: str, exclude: Collection[str] = (), data_root: str | Path | None = None
) -> BeirDataset:
    """The dataset's corpus and every query of its queries.jsonl but `exclude` (the evaluated
    ones), with no judgements: no qrels file is opened."""
    corpus, source = open_corpus(name_or_path, data_root)
    if source.startswith("irds:"):
        raise UserError(
            f"{name_or_path}: 'mine.queries: unlabeled' reads a BEIR folder's queries.jsonl; export the ir_datasets "
            "queries to a file and use 'file:PATH'"
        )
    folder = Path(source)
    everything = load_queries(folder / "queries.jsonl")
    excluded = set(exclude)
    queries = {q: text for q, text in everything.items() if q not in excluded}
    if not queries:
        raise UserError(
            f"{folder / 'queries.jsonl'}: no query is left once the {len(excluded)} evaluated ones are set aside; "
            "evaluate on one hash half (evaluate.query_half) to train on the other"
        )
    return BeirDataset(Path(name_or_path).name, folder, UNLABELED, corpus, queries, {})


def open_query_log(
    name_or_path: str, log: str | Path, data_root: str | Path | None = None
) -> BeirDataset:
    """The dataset's corpus with the queries of a log file, and no judgements."""
    corpus, _ = open_corpus(name_or_path, data_root)
    return BeirDataset(Path(name_or_path).name, Path(log), "log", corpus, load_query_log(log), {})


def log_path(source: str) -> Path:
    return Path(source[len(LOG_PREFIX) :])


def restrict_to_half(dataset: BeirDataset, half: str | None) -> BeirDataset:
    """`dataset` with only the queries (and judgements) of one hash half; itself for None."""
    if half is None:
        return dataset
    queries = in_half(dataset.queries, half)
    qrels = {q: judged for q, judged in dataset.qrels.items() if q in queries}
    return BeirDataset(
        dataset.name,
        dataset.path,
        f"{dataset.split}-{half}",
        dataset.corpus,
        queries,
        qrels,
        list(dataset.warnings),
    )


def evaluated_queries(
    name_or_path: str,
    split: str | None,
    data_root: str | Path | None = None,
    half: str | None = None,
) -> dict[str, str]:
    """The queries an evaluation of `name_or_path` reads ({id: text}): its `split`, one hash half
    of it when `half` is set."""
    from rankdistill.data.open import open_dataset

    return restrict_to_half(open_dataset(name_or_path, split, data_root), half).queries

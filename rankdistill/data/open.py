"""Open a dataset by name, path or ir_datasets id: the one place every stage gets its data from.

    scifact | nfcorpus | arguana | msmarco-trec-dl   a known name, looked up by resolve_dataset
    PATH                                             a BEIR folder of your own
    irds:<id>                                        an ir_datasets dataset (rankdistill.data.irds)

`open_with_queries` pairs a dataset's corpus with queries and judgements from a folder of their
own (generated pseudo-queries: rankdistill.mining.generate), in the BEIR format; `queries_over`
reads them over a corpus already loaded, and `with_queries_of` puts them beside a split's judged
ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import overload

from rankdistill.core.errors import UserError
from rankdistill.data.beir import (
    BeirDataset,
    join_title_text,
    load_corpus,
    load_dataset,
    load_qrels,
    load_queries,
)
from rankdistill.data.irds import PREFIX, irds_corpus, is_irds, load_irds_dataset, split_id
from rankdistill.data.resolve import dataset_info, resolve_dataset


def open_dataset(
    name_or_path: str | Path, split: str | None = None, data_root: str | Path | None = None
) -> BeirDataset:
    """Resolve a dataset and load one split (the dataset's default split if None). For
    `irds:<id>` the split picks the subset: `irds:beir/nfcorpus` + "train" is beir/nfcorpus/train."""
    name_or_path = str(name_or_path)  # a folder may come as a Path
    if is_irds(name_or_path):
        dataset_id = split_id(name_or_path, split)
        info = dataset_info(PREFIX + dataset_id)
        return load_irds_dataset(dataset_id, info.default_split, info.unknown_qrels_docs)
    info = dataset_info(name_or_path)
    path = resolve_dataset(name_or_path, data_root)
    return load_dataset(
        path,
        split or info.default_split,
        name=Path(name_or_path).name,
        unknown_docs=info.unknown_qrels_docs,
    )


def open_corpus(
    name_or_path: str, data_root: str | Path | None = None
) -> tuple[Mapping[str, dict[str, str]], str]:
    """A dataset's corpus alone (no queries or judgements) and where it came from: a folder's
    path, or the `irds:<id>` it was read from."""
    if is_irds(name_or_path):
        dataset_id = split_id(name_or_path, None)
        return irds_corpus(dataset_id), PREFIX + dataset_id
    path = resolve_dataset(name_or_path, data_root)
    return load_corpus(path / "corpus.jsonl"), str(path)


def corpus_texts(
    source: str | Path | BeirDataset, data_root: str | Path | None = None
) -> tuple[list[str], DocumentTexts, str]:
    """(doc ids, the text a model encodes for each, where the corpus came from), in corpus order,
    of a dataset already open or one to open by name or path: what an index, a teacher, a
    query-side student's frozen documents and an embedding teacher's document vectors all encode,
    so their shared chunked encodings agree. The texts are read when indexed, not held
    (DocumentTexts)."""
    if isinstance(source, BeirDataset):
        corpus, where = source.corpus, str(source.path)
    else:
        corpus, where = open_corpus(str(source), data_root)
    doc_ids = list(corpus)
    return doc_ids, DocumentTexts(corpus, doc_ids), where


class DocumentTexts(Sequence[str]):
    """The "title text" of each of `doc_ids`, made when indexed (a slice gives a list): a corpus's
    model texts as a sequence that encoders slice chunk by chunk, without every text in memory."""

    def __init__(self, corpus: Mapping[str, dict[str, str]], doc_ids: list[str]) -> None:
        self.corpus, self.doc_ids = corpus, doc_ids

    def __len__(self) -> int:
        return len(self.doc_ids)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [join_title_text(self.corpus[d]) for d in self.doc_ids[index]]
        return join_title_text(self.corpus[self.doc_ids[index]])


def open_with_queries(
    name_or_path: str, queries: str | Path, split: str, data_root: str | Path | None = None
) -> BeirDataset:
    """The corpus of `name_or_path` with the queries of `queries/queries.jsonl` and the judgements
    of `queries/qrels/<split>.tsv` (every judged document must be in the corpus), validated as a
    BEIR folder is. The dataset keeps the corpus's name, so its conventions still apply."""
    corpus, _ = open_corpus(name_or_path, data_root)
    name = Path(name_or_path).name if not is_irds(name_or_path) else name_or_path
    return _queries_over(name, corpus, Path(queries), split)


def queries_over(dataset: BeirDataset, queries: str | Path, split: str) -> BeirDataset:
    """What `open_with_queries` reads, over the corpus `dataset` already holds (not read again);
    `dataset`'s own queries are left out."""
    return _queries_over(dataset.name, dataset.corpus, Path(queries), split)


def with_queries_of(dataset: BeirDataset, queries: str | Path, split: str) -> BeirDataset:
    """`dataset` (one split) with the queries and judgements of a folder like `open_with_queries`
    reads beside its own, over the dataset's corpus (not read again): judged training queries and
    generated ones in one training set. A query id in both is an error, since one of the two would
    silently lose its judgements."""
    other = queries_over(dataset, queries, split)
    clash = sorted(set(dataset.queries) & set(other.qrels))
    if clash:
        raise UserError(
            f"{other.path}: query id {clash[0]!r} is also a query of {dataset.name}'s {dataset.split} split "
            f"({len(clash)} such ids); generated and judged queries need distinct ids"
        )
    return dataclasses.replace(
        dataset,
        queries={**dataset.queries, **other.queries},
        qrels={**dataset.qrels, **other.qrels},
    )


def _queries_over(
    name: str, corpus: Mapping[str, dict[str, str]], folder: Path, split: str
) -> BeirDataset:
    all_queries = load_queries(folder / "queries.jsonl")
    qrels = load_qrels(folder / "qrels" / f"{split}.tsv", all_queries, corpus)
    return BeirDataset(name, folder, split, corpus, {q: all_queries[q] for q in qrels}, qrels)

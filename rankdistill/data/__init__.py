"""Datasets in: BEIR folders and ir_datasets ids, loaded with validation; name resolution."""

from rankdistill.data.beir import BeirDataset, load_corpus, load_dataset, load_qrels, load_queries
from rankdistill.data.open import (
    open_corpus,
    open_dataset,
    open_with_queries,
    queries_over,
    with_queries_of,
)
from rankdistill.data.resolve import DATASETS, DatasetInfo, dataset_info, resolve_dataset

__all__ = [
    "BeirDataset",
    "DATASETS",
    "DatasetInfo",
    "dataset_info",
    "load_corpus",
    "load_dataset",
    "load_qrels",
    "load_queries",
    "open_corpus",
    "open_dataset",
    "open_with_queries",
    "queries_over",
    "resolve_dataset",
    "with_queries_of",
]

"""BEIR data: loading with validation, and dataset name resolution."""

from rankdistill.data.beir import BeirDataset, load_corpus, load_dataset, load_qrels, load_queries
from rankdistill.data.resolve import DATASETS, DatasetInfo, open_dataset, resolve_dataset

__all__ = [
    "BeirDataset",
    "DATASETS",
    "DatasetInfo",
    "load_corpus",
    "load_dataset",
    "load_qrels",
    "load_queries",
    "open_dataset",
    "resolve_dataset",
]

"""`rankdistill evaluate --index DIR`: BEIR evaluation through a built index, in the same
shape (and the same output files) as evaluating a retriever spec."""

from __future__ import annotations

import logging
from pathlib import Path

from rankdistill.core.atomic import atomic_write_text
from rankdistill.core.distributed import Shard
from rankdistill.data import open_dataset
from rankdistill.data.beir import BeirDataset
from rankdistill.encoders.models import EncodingSettings
from rankdistill.evaluation import RetrieverEvaluation, evaluate, format_table, save_evaluation
from rankdistill.indexes.load import SearchIndex, open_index

log = logging.getLogger(__name__)


def evaluate_index(
    dataset: BeirDataset, index: SearchIndex, k: int = 100, shard: Shard | None = None
) -> RetrieverEvaluation:
    """Check the index covers `dataset`'s corpus, search its queries (split across the ranks of
    `shard`: query encoding and search), score with its qrels."""
    return evaluate(dataset, index, k, index.spec, shard)


def evaluate_indexes(
    datasets: list[str],
    folders: list[str],
    split: str | None = None,
    output: Path | None = None,
    k: int = 100,
    batch_size: int = 32,
    device: str | None = None,
    data_root: str | Path | None = None,
    params: str | None = None,
    earlier: list[RetrieverEvaluation] | None = None,
    shard: Shard | None = None,
) -> list[RetrieverEvaluation]:
    """Every index on every dataset; with `output`, per-index metrics.json and run.trec, and a
    `results.md` that also lists `earlier` evaluations (retrievers evaluated in the same call)."""
    shard = shard or Shard()
    write = output is not None and shard.is_main
    indexes = [
        open_index(folder, params=params, encoding=EncodingSettings(batch_size, device=device))
        for folder in folders
    ]
    evaluations: list[RetrieverEvaluation] = []
    for name in datasets:
        dataset = open_dataset(name, split, data_root)
        for index in indexes:
            log.info("evaluating %s on %s/%s", index.folder, dataset.name, dataset.split)
            evaluation = evaluate_index(dataset, index, k, shard)
            evaluations.append(evaluation)
            if write:
                settings = {
                    "split": split,
                    "k": k,
                    "batch_size": batch_size,
                    "index": str(index.folder),
                    "search_params": index.search_params(),
                    "index_spec": index.manifest["spec"],
                }
                save_evaluation(evaluation, output, settings)
    if write:
        atomic_write_text(
            output / "results.md", format_table([*(earlier or []), *evaluations]) + "\n"
        )
    return evaluations

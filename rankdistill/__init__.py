"""rankdistill: turn a strong, slow ranker into a fast retriever.

The Python API a training script imports; every name loads its module on first use, so
`import rankdistill` (and `rankdistill --help`) stays fast::

    import rankdistill as rd

    dataset = rd.open_dataset("scifact", "train")              # a BEIR folder, name or irds: id
    teacher = rd.build_teacher("bi-encoder:all-mpnet-base-v2")  # or ensemble:FILE.yaml
    records, counts = rd.mine(dataset, ["bm25"], teacher, "store/")   # teacher-scored lists
    result = rd.train_student(rd.TrainConfig(...))    # any student family, query-side included
    test = rd.open_dataset("scifact")
    index = rd.build_index("runs/x/model", test, "Flat", "indexes/x")  # rd.open_index reopens it
    print(rd.evaluate(test, index).result.aggregate)

`examples/quickstart.py` is the whole loop in 30 lines; ARCHITECTURE.md says where each part lives.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> (module, attribute); one line each, loaded lazily by __getattr__
_API: dict[str, tuple[str, str]] = {
    "open_dataset": ("rankdistill.data", "open_dataset"),
    "build_retriever": ("rankdistill.retrieval", "build_retriever"),
    "build_teacher": ("rankdistill.teachers", "build_teacher"),
    "ScoreStore": ("rankdistill.store", "ScoreStore"),
    "score_pairs": ("rankdistill.store.scoring", "score_with_store"),
    "build_training_set": ("rankdistill.mining.build", "build_training_set"),
    "mine": ("rankdistill.mining.build", "build_training_set"),  # the same function, short
    # queries without judgements: a split's queries with no qrels opened, or a query log; the
    # teacher picks each query's positives from the union of the first stages
    "open_unlabeled": ("rankdistill.data.query_sources", "open_unlabeled"),
    "open_query_log": ("rankdistill.data.query_sources", "open_query_log"),
    "teacher_labelled_set": ("rankdistill.mining.teacher_labelled", "teacher_labelled_set"),
    "write_training_set": ("rankdistill.mining.records", "write_training_set"),
    "MiningResult": ("rankdistill.mining.records", "MiningResult"),
    # extension points: a loss, a teacher kind, an index kind is one module that registers itself
    "register_loss": ("rankdistill.losses.registry", "register_loss"),
    "register_teacher": ("rankdistill.teachers.registry", "register_teacher"),
    "register_index_kind": ("rankdistill.indexes.registry", "register_index_kind"),
    "build_loss": ("rankdistill.losses", "build_loss"),
    "train_student": ("rankdistill.training.families", "train_student"),
    "build_index": ("rankdistill.indexes.build", "build_index"),
    "open_index": ("rankdistill.indexes.load", "open_index"),
    "evaluate": ("rankdistill.evaluation", "evaluate"),
    "run_pipeline": ("rankdistill.pipeline.run", "run_pipeline"),
    # the config classes those take
    "TrainConfig": ("rankdistill.training.config", "TrainConfig"),
    "DataConfig": ("rankdistill.training.config", "DataConfig"),
    "StudentConfig": ("rankdistill.training.config", "StudentConfig"),
    "TrainerConfig": ("rankdistill.training.config", "TrainerConfig"),
    "DevConfig": ("rankdistill.training.config", "DevConfig"),
    "EncodingSettings": ("rankdistill.encoders.models", "EncodingSettings"),
    "BuildSettings": ("rankdistill.indexes.build", "BuildSettings"),
    "PipelineConfig": ("rankdistill.pipeline.config", "PipelineConfig"),
    "load_pipeline_config": ("rankdistill.pipeline.config", "load_pipeline_config"),
}

# the subpackages a script reaches into for more than the names above
_MODULES = {
    "data": "rankdistill.data",
    "teachers": "rankdistill.teachers",
    "losses": "rankdistill.losses",
    "students": "rankdistill.training.families",
    "indexes": "rankdistill.indexes",
    "evaluation": "rankdistill.evaluation",
}

__all__ = ["__version__", *_API, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _API:
        module, attribute = _API[name]
        value = getattr(importlib.import_module(module), attribute)
    else:
        raise AttributeError(f"module 'rankdistill' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

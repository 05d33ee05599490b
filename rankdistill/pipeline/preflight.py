"""Fail before the work: what a run needs is checked before its first stage, so a typo in an index
spec or a model name is an error in a second, not after twenty minutes of encoding.

    index.spec          parsed, and for a dense student's faiss index made by faiss' index_factory
                        at the dimension the student's model folder declares
    every model named   teacher members, mining and evaluation retrievers, the student and its
                        embedding teacher: resolved to a folder (local path, offline catalogue or
                        hub), as the stage that loads it would

(Output folders are checked for writability by `run_pipeline` itself, before the lock.)
"""

from __future__ import annotations

import json
from pathlib import Path

from rankdistill.core.config import field_line
from rankdistill.core.errors import InputError, UserError
from rankdistill.pipeline.config import PipelineConfig, member_models

MODEL_RETRIEVERS = ("dense", "sparse")


def model_dimension(folder: str | Path) -> int | None:
    """The output dimension a sentence-transformers folder declares (its last Dense layer, else its
    pooling), or None where the folder does not say (read from JSON; no weights are loaded)."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    dimension = None
    for module in modules if isinstance(modules, list) else []:
        try:
            settings = json.loads(
                (folder / module.get("path", "") / "config.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError, AttributeError):
            continue
        for key in (
            "out_features",
            "word_embedding_dimension",
            "embedding_dimension",
        ):  # Dense; Pooling before and after ST 5
            if isinstance(settings.get(key), int):
                dimension = settings[key]
    return dimension


def named_models(config: PipelineConfig) -> list[tuple[str, str]]:
    """(dotted config field, model name) for every model the run will load."""
    found = [(f"teacher.members[{i}].teacher", model) for i, model in member_models(config.teacher)]
    for section, retrievers in (
        ("mine.retrievers", config.mine.retrievers),
        ("evaluate.retrievers", config.evaluate.retrievers),
    ):
        for i, spec in enumerate(retrievers):
            kind, _, model = spec.partition(":")
            if kind in MODEL_RETRIEVERS and model:
                found.append((f"{section}[{i}]", model))
    if config.train is not None:
        found.append(("train.student.model", config.train.student.model))
        if config.train.student.teacher:
            found.append(("train.student.teacher", config.train.student.teacher))
    return found


def preflight(config: PipelineConfig, source: str | Path) -> None:
    """Raise an InputError located in `source` for the first thing the run could not do."""
    from rankdistill.encoders.models import resolve_model
    from rankdistill.indexes.spec import check_factory, parse_spec

    resolved: dict[str, str] = {}
    for dotted, model in named_models(config):
        if model in resolved:
            continue
        try:
            resolved[model] = resolve_model(model)
        except UserError as error:
            raise InputError(source, str(error), field_line(source, dotted), dotted) from None
    try:
        spec = parse_spec(config.index.spec)
        if (
            config.train is not None
            and config.train.student.kind == "dense"
            and config.train.student.distill != "embeddings"
        ):
            dimension = model_dimension(resolved[config.train.student.model])
            if dimension is not None:
                check_factory(spec, dimension)
    except UserError as error:
        raise InputError(
            source, str(error), field_line(source, "index.spec"), "index.spec"
        ) from None

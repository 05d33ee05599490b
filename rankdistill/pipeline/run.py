"""The stages of `rankdistill run` and how each reads the one before it.

    teacher_train (optional) -> mine (candidates + teacher scores + training set) -> train ->
    index -> evaluate (baselines, teacher as reranker, student through its index) -> report
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from rankdistill.atomic import atomic_write_json, check_writable
from rankdistill.config import config_dict
from rankdistill.distributed import Shard
from rankdistill.pipeline.config import TRAINED, PipelineConfig
from rankdistill.pipeline.stages import Stage, StageOutcome, run_stages
from rankdistill.runlock import run_lock

log = logging.getLogger(__name__)


def store_root(config: PipelineConfig) -> Path:
    teacher = config.teacher
    return Path(teacher.store) if teacher and teacher.store else Path(config.output_dir) / "score-store"


def build_run_teacher(config: PipelineConfig, corpus_texts: list[str], trained: Path | None):
    """The run's teacher: its single member, or the calibrated ensemble of its members."""
    from rankdistill.teachers import build_teacher
    from rankdistill.teachers.ensemble_config import ensemble_from_members

    members = [
        dataclasses.replace(m, teacher=f"cross-encoder:{trained}") if m.teacher == f"cross-encoder:{TRAINED}" else m
        for m in config.teacher.members
    ]
    if len(members) == 1 and members[0].weight == 1.0:
        m = members[0]
        return build_teacher(m.teacher, corpus_texts, config.mine.batch_size, m.max_length, None, m.precision, m.backend)
    return ensemble_from_members(members, corpus_texts, config.mine.batch_size)


def _stage_teacher_train(config: PipelineConfig):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.data import open_dataset
        from rankdistill.training.teacher import train_cross_encoder

        model = folder / "model"
        if not (model / "config.json").is_file():  # else: trained before a kill hit done.json
            dataset = open_dataset(config.dataset, config.mine.split, config.data_root)
            train_cross_encoder(dataset, model, config.teacher.train)
        Shard.from_env().barrier()  # rank 0 saves the model
        return {"model": str(model)}

    return run


def _trained(upstream: dict[str, Path]) -> Path | None:
    return upstream["teacher_train"] / "model" if "teacher_train" in upstream else None


def _stage_mine(config: PipelineConfig):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.data import open_dataset
        from rankdistill.mining import build_training_set, write_training_set

        mine = config.mine
        dataset = open_dataset(config.dataset, mine.split, config.data_root)
        corpus_texts = [dataset.doc_text(d) for d in dataset.corpus]
        teacher = build_run_teacher(config, corpus_texts, _trained(upstream))
        options = {k: getattr(mine, k) for k in ("n_top", "n_random", "skip_top", "depth", "top_depth", "fn_margin", "fn_fraction", "fn_action", "fn_reference")}
        shard = Shard.from_env()
        records, counts = build_training_set(
            dataset, mine.retrievers, teacher, store_root(config), **options, seed=config.seed,
            batch_size=mine.batch_size, max_length=mine.max_length, progress=True, shard=shard,
        )
        settings = {"dataset": dataset.name, "split": dataset.split, "retrievers": mine.retrievers, "teacher_fingerprint": teacher.fingerprint, **options}
        if shard.is_main:
            write_training_set(folder / "train.jsonl", records, {"config": settings, "counts": counts})
        shard.barrier()
        return {"training_set": str(folder / "train.jsonl"), "counts": counts}

    return run


def _stage_train(config: PipelineConfig):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.training.train import RECORD, train

        student = folder / "student"
        if not (student / RECORD).is_file():
            train_config = dataclasses.replace(
                config.train,
                name=folder.name,
                output_dir=str(folder.parent),
                data=dataclasses.replace(config.train.data, training_set=str(upstream["mine"] / "train.jsonl")),
            )
            train(train_config)
        Shard.from_env().barrier()  # rank 0 writes the student
        record = json.loads((student / RECORD).read_text(encoding="utf-8"))
        return {"student": str(student), "dev": record.get("dev", {}).get("metrics"), "global_step": record.get("global_step")}

    return run


def _stage_index(config: PipelineConfig, dataset_name: str):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.indexes.build import BuildSettings, build_index

        output = folder / "index"
        if not (output / "manifest.json").is_file():
            index = config.index
            settings = BuildSettings(batch_size=index.batch_size, max_length=index.max_length, seed=config.seed, precision=index.precision, backend=index.backend)
            build_index(str(upstream["train"] / "student"), dataset_name, config.index.spec, output, settings, config.data_root,
                        shard=Shard.from_env())
        return {"index": str(output), "spec": config.index.spec}

    return run


def _stage_evaluate(config: PipelineConfig):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.pipeline.evaluate import evaluate_systems

        teacher_factory = None
        if config.teacher is not None:
            trained = _trained(upstream)
            teacher_factory = lambda texts: build_run_teacher(config, texts, trained)  # noqa: E731
        index = upstream["index"] / "index" if "index" in upstream else None
        student = upstream["train"] / "student" if "train" in upstream else None
        return evaluate_systems(config, folder, teacher_factory, store_root(config), index, student)

    return run


def without_later_defaults(settings: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """`settings` without the options added after runs existed that are at their `defaults`: such
    an option enters a stage key only when set, so runs made before it keep their cache."""
    for key, default in defaults.items():
        if settings.get(key, default) == default:
            settings.pop(key, None)
    return settings


def legacy_precision_keys(settings: Any) -> Any:
    """Stage settings with each float32 / bf16 `precision` written as the `bf16: false|true` it
    replaced, so runs made before `precision` existed keep their stage keys (fp16 is new)."""
    if isinstance(settings, list):
        return [legacy_precision_keys(item) for item in settings]
    if not isinstance(settings, dict):
        return settings
    converted = {key: legacy_precision_keys(value) for key, value in settings.items()}
    if converted.get("precision") in ("float32", "bf16"):
        converted["bf16"] = converted.pop("precision") == "bf16"
    return converted


def pipeline_stages(config: PipelineConfig) -> list[Stage]:
    base = {"seed": config.seed, "data_root": config.data_root}
    stages: list[Stage] = []
    teacher = config.teacher
    trained_inputs: list[str] = []
    if teacher is not None and teacher.train is not None:
        teacher_train_settings = without_later_defaults(dataclasses.asdict(teacher.train), {"retrieved_positives": False})
        stages.append(Stage("teacher_train", {**base, "dataset": config.dataset, "split": config.mine.split,
                                              "train": teacher_train_settings}, _stage_teacher_train(config), outputs=["model"]))
        trained_inputs = ["teacher_train"]
    teacher_settings = [dataclasses.asdict(m) for m in teacher.members] if teacher else None
    if config.train is not None:
        mine_settings = without_later_defaults(dataclasses.asdict(config.mine), {"fn_reference": "lowest"})
        stages.append(Stage("mine", {**base, "dataset": config.dataset, "teacher": teacher_settings,
                                     "mine": mine_settings}, _stage_mine(config), trained_inputs, ["train.jsonl"]))
        train_settings = config_dict(config.train)
        for volatile in ("name", "output_dir"):
            train_settings.pop(volatile, None)
        train_settings["data"].pop("training_set", None)
        without_later_defaults(train_settings["data"], {"positives": None})
        stages.append(Stage("train", train_settings, _stage_train(config), ["mine"], ["student"]))
        if len(config.evaluate.datasets) != 1:
            raise ValueError("a run that trains a student evaluates it on exactly one dataset")
        stages.append(Stage("index", {**base, "dataset": config.evaluate.datasets[0], "index": dataclasses.asdict(config.index)},
                            _stage_index(config, config.evaluate.datasets[0]), ["train"], ["index"]))
    evaluate_settings = {**base, "evaluate": dataclasses.asdict(config.evaluate), "teacher": teacher_settings,
                         "rerank_depth": config.rerank_depth}
    stages.append(Stage("evaluate", evaluate_settings, _stage_evaluate(config), [s.name for s in stages if s.name in ("teacher_train", "train", "index")]))
    return [dataclasses.replace(stage, settings=legacy_precision_keys(stage.settings)) for stage in stages]


def run_pipeline(
    config: PipelineConfig, source: str | Path, force: set[str] = frozenset(), precision: str | None = None
) -> list[StageOutcome]:
    """Run (or resume) every stage of `config`. Each `precision: auto` is first resolved for this
    machine (`precision` overrides them all), so stage keys hold what actually runs."""
    from rankdistill.config import resolve_precisions
    from rankdistill.hardware import hardware_record
    from rankdistill.pipeline.report import write_report
    from rankdistill.provenance import provenance

    shard = Shard.from_env()  # under torchrun every stage splits its work across the ranks
    run_dir = config.run_dir()
    check_writable(run_dir, "run folder")
    if config.teacher is not None:
        check_writable(store_root(config), "teacher score store")
    # rank 0 holds the run's lock for all ranks: a second `rankdistill run` is refused
    with run_lock(run_dir) if shard.is_main else contextlib.nullcontext():
        hardware = {**hardware_record(), "precision": resolve_precisions(config, precision), "world_size": shard.world_size}
        if shard.is_main:
            atomic_write_json(
                run_dir / "config.json",
                {"config": config_dict(config), "source": str(source), "hardware": hardware, "provenance": provenance()},
            )
        outcomes = run_stages(pipeline_stages(config), run_dir, force, shard)
        if shard.is_main:
            write_report(config, run_dir, outcomes, source, hardware)
    return outcomes

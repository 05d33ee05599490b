"""The stages of `rankdistill run` and how each reads the one before it.

    teacher_train (optional) -> [generate] -> mine (candidates + teacher scores + training set)
    -> train -> index -> evaluate (baselines, teacher as reranker, student through its index) -> report

`generate` runs for `mine.queries: generated`: pseudo-queries over the corpus, which mine then
reads instead of a training split (rankdistill/mining/generate.py), or beside it (`both`).

A cross-encoder student has no index: evaluate reranks BM25's top `rerank_depth` with it beside
the teacher. Embedding distillation (`distill: embeddings`) has no teacher section and no mine
stage: train encodes the teacher's targets (shared under <output_dir>/encodings) and aligns the
student; with `serve: teacher-documents` the index is built by the teacher (the student's document
route), from those same shared encodings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rankdistill.core.atomic import atomic_write_json, check_writable
from rankdistill.core.config import config_dict
from rankdistill.core.distributed import Shard
from rankdistill.core.runlock import run_lock
from rankdistill.data.open import corpus_texts
from rankdistill.encoders.models import EncodingSettings
from rankdistill.pipeline.cache import Stage, StageOutcome, run_stages
from rankdistill.pipeline.config import TRAINED, PipelineConfig

if TYPE_CHECKING:
    from rankdistill.data import BeirDataset

log = logging.getLogger(__name__)


def store_root(config: PipelineConfig) -> Path:
    teacher = config.teacher
    return (
        Path(teacher.store)
        if teacher and teacher.store
        else Path(config.output_dir) / "score-store"
    )


def build_run_teacher(config: PipelineConfig, texts: Sequence[str], trained: Path | None):
    """The run's teacher: its single member, or the calibrated ensemble of its members."""
    from rankdistill.teachers import build_teacher
    from rankdistill.teachers.ensemble_config import ensemble_from_members

    members = [
        dataclasses.replace(m, teacher=f"cross-encoder:{trained}")
        if m.teacher == f"cross-encoder:{TRAINED}"
        else m
        for m in config.teacher.members
    ]
    if len(members) == 1 and members[0].weight == 1.0:
        m = members[0]
        return build_teacher(
            m.teacher,
            texts,
            encoding=EncodingSettings(
                config.mine.batch_size, m.max_length, precision=m.precision, backend=m.backend
            ),
        )
    return ensemble_from_members(members, texts, config.mine.batch_size)


def cross_fitted(config: PipelineConfig) -> bool:
    return (
        config.teacher is not None
        and config.teacher.train is not None
        and config.teacher.train.folds > 1
    )


def _stage_teacher_train(config: PipelineConfig):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.data import open_dataset
        from rankdistill.training.teacher import FOLDS, train_cross_encoder, train_fold_teachers

        model = folder / "model"
        # a finished model (or set of fold models) was trained before a kill hit done.json
        if not (model / (FOLDS if cross_fitted(config) else "config.json")).is_file():
            dataset = open_dataset(config.dataset, config.mine.split, config.data_root)
            trainer = train_fold_teachers if cross_fitted(config) else train_cross_encoder
            trainer(dataset, model, config.teacher.train)
        Shard.from_env().barrier()  # rank 0 saves the model
        return {
            "model": str(model),
            **({"folds": config.teacher.train.folds} if cross_fitted(config) else {}),
        }

    return run


def _trained(upstream: dict[str, Path], fold: int | None = None) -> Path | None:
    """The trained teacher's folder; with cross-fitting, fold `fold`'s (fold 0's when None: the
    one the evaluation's teacher-as-reranker row uses)."""
    if "teacher_train" not in upstream:
        return None
    from rankdistill.training.teacher import FOLDS

    model = upstream["teacher_train"] / "model"
    return model / f"fold-{fold or 0}" if (model / FOLDS).is_file() else model


def generation_seed(config: PipelineConfig) -> int:
    return (
        config.seed
        if config.generate is None or config.generate.seed is None
        else config.generate.seed
    )


def _stage_generate(config: PipelineConfig):
    """Pseudo-queries for the corpus, in chunks that a killed run does not redo, split by rank."""

    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.data import open_corpus
        from rankdistill.mining import generate_queries

        section = config.generate
        corpus, source = open_corpus(config.dataset, config.data_root)
        made = generate_queries(
            corpus,
            source,
            section.generator,
            folder,
            documents=section.documents,
            seed=generation_seed(config),
            chunk_size=section.chunk_size,
            shard=Shard.from_env(),
        )
        return {"queries": made.queries, "counts": made.counts}

    return run


def evaluation_queries(
    config: PipelineConfig, only: str | None = None
) -> dict[str, dict[str, str]]:
    """{dataset: {query id: text}} of every evaluated dataset (or of `only`), as the evaluate stage
    reads them."""
    from rankdistill.data.query_sources import evaluated_queries

    ev = config.evaluate
    return {
        name: evaluated_queries(name, ev.split, config.data_root, ev.query_half)
        for name in ev.datasets
        if only in (None, name)
    }


def mining_parts(
    config: PipelineConfig, upstream: dict[str, Path]
) -> list[tuple[BeirDataset, int | None]]:
    """The queries mine reads, each part with the accept rank its positives face: the training
    split (judged positives as they are), the generate stage's queries over the corpus, or both;
    without judgements, the dataset's queries but the evaluated ones, or a query log."""
    from rankdistill.data import open_dataset, open_with_queries, queries_over
    from rankdistill.data.query_sources import log_path, open_query_log, open_unlabeled
    from rankdistill.mining.generate import SPLIT

    if config.mine.queries == "unlabeled":
        evaluated = evaluation_queries(config, only=config.dataset).get(config.dataset, {})
        return [(open_unlabeled(config.dataset, set(evaluated), config.data_root), None)]
    if config.mine.label_free():
        return [
            (open_query_log(config.dataset, log_path(config.mine.queries), config.data_root), None)
        ]
    if config.mine.queries == "generated":
        return [
            (
                open_with_queries(config.dataset, upstream["generate"], SPLIT, config.data_root),
                config.mine.accept(),
            )
        ]
    judged = open_dataset(config.dataset, config.mine.split, config.data_root)
    if config.mine.queries == "split":
        if config.mine.judged_queries is not None:  # judgements only, on a budget
            from rankdistill.data.query_sources import judged_budget
            from rankdistill.training.teacher import restricted

            judged = restricted(
                judged, judged_budget(judged.qrels, config.mine.judged_queries, config.seed)
            )
        return [(judged, config.mine.accept_rank)]
    # both: the generated queries over the corpus just read
    return [
        (judged, None),
        (queries_over(judged, upstream["generate"], SPLIT), config.mine.accept()),
    ]


def check_contamination(
    config: PipelineConfig, training: dict[str, str], strict: bool
) -> list[dict[str, Any]]:
    """Training queries that are evaluation queries (by id within the dataset, by normalised text
    in any evaluated one): warned about, an error under `strict`; the counts go in the record."""
    from rankdistill.core.errors import UserError
    from rankdistill.data.contamination import find_contamination

    found = []
    ev = config.evaluate
    for name in ev.datasets:
        try:
            queries = evaluation_queries(config, only=name)[name]
        except UserError as exc:  # the evaluate stage will say so; mining does not need them
            log.info("contamination check skipped for %s: %s", name, exc)
            continue
        overlap = find_contamination(
            training,
            queries,
            f"{Path(name).name}/{config.evaluate.split or 'test'}",
            compare_ids=name == config.dataset,
        )
        if overlap.found:
            if strict:
                raise UserError(f"train/test contamination (--strict): {overlap.describe()}")
            log.warning("train/test contamination: %s", overlap.describe())
        found.append(overlap.as_dict())
    return found


def _stage_mine(config: PipelineConfig, strict: bool = False):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.mining import build_training_set
        from rankdistill.training.teacher import read_folds, restricted

        mine = config.mine
        sources = mining_parts(config, upstream)
        dataset = sources[0][0]
        contamination = check_contamination(
            config, {q: t for part, _ in sources for q, t in part.queries.items()}, strict
        )
        if mine.label_free():
            records, counts, settings = _mine_label_free(config, dataset)
            return _write_mined(folder, records, counts, settings, contamination)
        texts = corpus_texts(dataset)[1]
        options = {
            k: getattr(mine, k)
            for k in (
                "n_top",
                "n_random",
                "skip_top",
                "depth",
                "top_depth",
                "fn_margin",
                "fn_fraction",
                "fn_action",
                "fn_reference",
            )
        }
        shard = Shard.from_env()
        # cross-fitted: each fold's queries are labelled by the teacher that did not train on them
        parts = [(source, None, accept) for source, accept in sources]
        if cross_fitted(
            config
        ):  # judged queries only (config.check_generate refuses generated ones here)
            assignment = read_folds(upstream["teacher_train"] / "model")
            parts = [
                (
                    restricted(dataset, {q for q, f in assignment.items() if f == fold}),
                    fold,
                    sources[0][1],
                )
                for fold in range(config.teacher.train.folds)
            ]
        records, counts, fingerprints = [], {}, []
        teacher, teacher_fold = None, -1
        for part, fold, accept in parts:
            if teacher is None or fold != teacher_fold:
                teacher, teacher_fold = (
                    build_run_teacher(config, texts, _trained(upstream, fold)),
                    fold,
                )
                fingerprints.append(teacher.fingerprint)
            found, found_counts = build_training_set(
                part,
                mine.retrievers,
                teacher,
                store_root(config),
                **options,
                seed=config.seed,
                encoding=EncodingSettings(mine.batch_size, mine.max_length),
                engine=config.engine,
                progress=True,
                shard=shard,
                accept_rank=accept,
            )
            records += found
            counts = {k: counts.get(k, 0) + v for k, v in found_counts.items()}
        fingerprint = fingerprints[0] if len(fingerprints) == 1 else fingerprints
        split = "+".join(part.split for part, _ in sources)  # "train+generated" for `both`
        settings = {
            "dataset": dataset.name,
            "split": split,
            "retrievers": mine.retrievers,
            "teacher_fingerprint": fingerprint,
            **options,
        }
        if mine.queries != "split":
            settings.update(queries=str(upstream["generate"]), accept_rank=mine.accept())
        return _write_mined(folder, records, counts, settings, contamination)

    return run


def _write_mined(
    folder: Path,
    records: list,
    counts: dict[str, int],
    settings: dict[str, Any],
    contamination: list[dict[str, Any]],
) -> dict[str, Any]:
    """The mine stage's training set, written by the main rank once every rank has its records."""
    from rankdistill.mining import write_training_set

    shard = Shard.from_env()
    if shard.is_main:
        write_training_set(
            folder / "train.jsonl",
            records,
            {"config": settings, "counts": counts, "contamination": contamination},
        )
    shard.barrier()
    return {
        "training_set": str(folder / "train.jsonl"),
        "counts": counts,
        "contamination": contamination,
    }


def _mine_label_free(
    config: PipelineConfig, dataset: BeirDataset
) -> tuple[list, dict[str, int], dict[str, Any]]:
    """Mine for queries without judgements: the teacher picks the positives from the union of
    the retrievers' candidates (rankdistill/mining/teacher_labelled.py)."""
    from rankdistill.mining.teacher_labelled import teacher_labelled_set

    mine, shard = config.mine, Shard.from_env()
    teacher = build_run_teacher(config, corpus_texts(dataset)[1], None)
    judged, judgements = None, "none (teacher-chosen positives)"
    if mine.judged_queries:  # a label budget: a few queries keep the judgements of `mine.split`
        from rankdistill.data import open_dataset
        from rankdistill.data.query_sources import judged_budget

        qrels = open_dataset(config.dataset, mine.split, config.data_root).qrels
        judged = {
            q: qrels[q]
            for q in judged_budget(qrels, mine.judged_queries, config.seed, among=dataset.queries)
        }
        judgements = f"{len(judged)} queries' judged positives from {mine.split} (the teacher's for the rest)"
    records, counts = teacher_labelled_set(
        dataset,
        mine.retrievers,
        teacher,
        store_root(config),
        positives=mine.teacher_positives,
        n_top=mine.n_top,
        n_random=mine.n_random,
        depth=mine.depth,
        seed=config.seed,
        encoding=EncodingSettings(mine.batch_size, mine.max_length),
        engine=config.engine,
        progress=True,
        shard=shard,
        judged=judged,
    )
    settings = {
        "dataset": dataset.name,
        "split": dataset.split,
        "queries": mine.queries,
        "judgements": judgements,
        "retrievers": mine.retrievers,
        "teacher_fingerprint": teacher.fingerprint,
        "teacher_positives": mine.teacher_positives,
        "n_top": mine.n_top,
        "n_random": mine.n_random,
        "depth": mine.depth,
    }
    return records, counts, settings


def student_kind(config: PipelineConfig) -> str | None:
    return config.train.student.kind if config.train is not None else None


def embedding_distillation(config: PipelineConfig) -> bool:
    return config.train is not None and config.train.student.distill == "embeddings"


def teacher_documents(config: PipelineConfig) -> bool:
    """Whether the student searches an index its embedding teacher built (asymmetric serving)."""
    return embedding_distillation(config) and config.train.student.serve == "teacher-documents"


def query_side(config: PipelineConfig) -> bool:
    """Whether the run trains only a query encoder over the starting model's frozen index."""
    return config.train is not None and config.train.student.frozen_documents


def index_datasets(config: PipelineConfig) -> list[str]:
    """The datasets the index stage builds an index over: every evaluated one, and for
    query-side training first the training dataset (its vectors are what training reads)."""
    datasets = list(config.evaluate.datasets)
    if query_side(config) and config.dataset not in datasets:
        datasets.insert(0, config.dataset)
    return datasets


def index_folder(stage_folder: Path, config: PipelineConfig, dataset: str) -> Path:
    """`index/` for the first dataset (the folder runs made before several datasets used),
    `index-<dataset>/` for the others."""
    from rankdistill.data.resolve import colliding_names

    datasets = index_datasets(config)
    name = colliding_names(datasets).get(dataset, Path(dataset).name)
    return stage_folder / ("index" if dataset == datasets[0] else f"index-{name}")


def _stage_train(config: PipelineConfig):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.training.train import RECORD

        student = folder / "student"
        if not (student / RECORD).is_file():
            train_config = dataclasses.replace(
                config.train,
                name=folder.name,
                output_dir=str(folder.parent),
                data=dataclasses.replace(
                    config.train.data,
                    training_set=str(upstream["mine"] / "train.jsonl")
                    if "mine" in upstream
                    else "",
                    queries=str(upstream["generate"]) if "generate" in upstream else None,
                ),
            )
            from rankdistill.training.families import train_student

            train_student(
                train_config,
                frozen_documents=frozen_documents(
                    index_folder(upstream["index"], config, config.dataset)
                )
                if query_side(config)
                else None,
                encodings=Path(config.output_dir) / "encodings",
                precision=config.index.precision,
            )
        Shard.from_env().barrier()  # rank 0 writes the student
        record = json.loads((student / RECORD).read_text(encoding="utf-8"))
        return {
            "student": str(student),
            "dev": record.get("dev", {}).get("metrics"),
            "global_step": record.get("global_step"),
        }

    return run


def frozen_documents(folder: Path):
    """The vectors of the starting model's index in `folder`, as query-side training reads them."""
    from rankdistill.indexes.load import index_vectors
    from rankdistill.training.query_side import FrozenDocuments

    doc_ids, vectors, manifest = index_vectors(folder)
    model = manifest["model"]
    return FrozenDocuments(
        doc_ids, vectors, model["weights_sha256"], model.get("max_length"), str(folder)
    )


def _stage_index(config: PipelineConfig):
    """One index per dataset of `index_datasets`: built by the student, or for query-side
    training by the starting model before training (the student searches it as it is: its
    document route is that model). Starting-model encodings are shared by runs under
    <output_dir>/encodings, so seeds and reruns encode each corpus once."""

    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.indexes.build import BuildSettings, write_index

        index = config.index
        frozen = query_side(config)
        shared = frozen or teacher_documents(
            config
        )  # a model's own encodings, reused by every run that indexes with it
        settings = BuildSettings(
            EncodingSettings(
                index.batch_size, index.max_length, precision=index.precision, backend=index.backend
            ),
            seed=config.seed,
            chunks_dir=str(Path(config.output_dir) / "encodings") if shared else None,
            engine=config.engine,
        )
        if frozen:
            model = config.train.student.model
        elif teacher_documents(config):
            model = config.train.student.teacher
        else:
            model = str(upstream["train"] / "student")
        built = {}
        for dataset in index_datasets(config):
            output = index_folder(folder, config, dataset)
            if not (output / "manifest.json").is_file():
                write_index(
                    model,
                    dataset,
                    index.spec,
                    output,
                    settings=settings,
                    data_root=config.data_root,
                    shard=Shard.from_env(),
                )
            built[dataset] = str(output)
        first = next(iter(built.values()))
        return {
            "index": first,
            "spec": index.spec,
            **({"indexes": built} if len(built) > 1 else {}),
        }

    return run


def _stage_evaluate(config: PipelineConfig):
    def run(folder: Path, upstream: dict[str, Path]) -> dict[str, Any]:
        from rankdistill.pipeline.evaluate import evaluate_systems

        teacher_factory = None
        if config.teacher is not None:
            trained = _trained(upstream)
            teacher_factory = lambda texts: build_run_teacher(config, texts, trained)  # noqa: E731
        indexes = (
            {d: index_folder(upstream["index"], config, d) for d in config.evaluate.datasets}
            if "index" in upstream
            else {}
        )
        student = upstream["train"] / "student" if "train" in upstream else None
        return evaluate_systems(
            config, folder, teacher_factory, store_root(config), indexes, student
        )

    return run


def cosine_teacher(config: PipelineConfig) -> bool:
    """Whether the run's teacher is a bare bi-encoder, whose scores are cosines that training puts
    on the student's scale (rankdistill.training.data.teacher_factor)."""
    members = config.teacher.members if config.teacher else []
    return (
        len(members) == 1
        and members[0].weight == 1.0
        and members[0].teacher.startswith("bi-encoder:")
    )


def evaluated_key(config: PipelineConfig) -> dict[str, Any]:
    """What decides which of the training dataset's queries `mine.queries: unlabeled` holds out."""
    ev = config.evaluate
    return {
        "evaluated": config.dataset in ev.datasets,
        "split": ev.split,
        "query_half": ev.query_half,
    }


def pipeline_stages(config: PipelineConfig, strict: bool = False) -> list[Stage]:
    base = {"seed": config.seed, "data_root": config.data_root}
    stages: list[Stage] = []
    teacher = config.teacher
    trained_inputs: list[str] = []
    if teacher is not None and teacher.train is not None:
        teacher_train_settings = dataclasses.asdict(teacher.train)
        stages.append(
            Stage(
                "teacher_train",
                {
                    **base,
                    "dataset": config.dataset,
                    "split": config.mine.split,
                    "train": teacher_train_settings,
                },
                _stage_teacher_train(config),
                outputs=["model"],
            )
        )
        trained_inputs = ["teacher_train"]
    teacher_settings = [dataclasses.asdict(m) for m in teacher.members] if teacher else None
    if config.train is not None:
        generated = config.mine.generated()
        if generated:  # pseudo-queries over the corpus, for mine to read instead of a training split (or beside it)
            generate_settings = {
                **dataclasses.asdict(config.generate),
                "seed": generation_seed(config),
            }
            stages.append(
                Stage(
                    "generate",
                    {**base, "dataset": config.dataset, "generate": generate_settings},
                    _stage_generate(config),
                    [],
                    ["queries.jsonl", "qrels"],
                )
            )
        if not embedding_distillation(config):
            # without judgements, which queries are held out depends on what is evaluated
            mine_settings = {**dataclasses.asdict(config.mine), "evaluated": evaluated_key(config)}
            stages.append(
                Stage(
                    "mine",
                    {
                        **base,
                        "dataset": config.dataset,
                        "teacher": teacher_settings,
                        "mine": mine_settings,
                    },
                    _stage_mine(config, strict),
                    trained_inputs + (["generate"] if generated else []),
                    ["train.jsonl"],
                )
            )
        train_settings = config_dict(config.train)
        for volatile in ("name", "output_dir"):
            train_settings.pop(volatile, None)
        train_settings["data"].pop("training_set", None)
        # a bare bi-encoder teacher's cosines are multiplied in training (teacher_factor)
        train_settings["data"]["cosine_teacher"] = (
            cosine_teacher(config) and config.train.data.teacher_scale is None
        )
        datasets = index_datasets(config)
        index_settings = {
            **base,
            "dataset": datasets[0],
            "index": dataclasses.asdict(config.index),
            "datasets": datasets,
        }
        mined = ([] if embedding_distillation(config) else ["mine"]) + (
            ["generate"] if generated else []
        )
        if query_side(config):  # the starting model indexes the corpora before training
            index_settings["starting_model"] = config.train.student.model
            stages.append(Stage("index", index_settings, _stage_index(config), [], None))
            stages.append(
                Stage(
                    "train",
                    train_settings,
                    _stage_train(config),
                    ["mine", "index"] + (["generate"] if generated else []),
                    ["student"],
                )
            )
        elif student_kind(config) == "cross-encoder":  # a reranker: nothing to index
            stages.append(Stage("train", train_settings, _stage_train(config), mined, ["student"]))
        elif teacher_documents(
            config
        ):  # the teacher indexes the corpora; the student only encodes queries
            index_settings["teacher_model"] = config.train.student.teacher
            stages.append(Stage("train", train_settings, _stage_train(config), mined, ["student"]))
            stages.append(Stage("index", index_settings, _stage_index(config), [], None))
        else:
            stages.append(Stage("train", train_settings, _stage_train(config), mined, ["student"]))
            stages.append(Stage("index", index_settings, _stage_index(config), ["train"], None))
    evaluate_settings = {
        **base,
        "evaluate": dataclasses.asdict(config.evaluate),
        "teacher": teacher_settings,
        "rerank_depth": config.rerank_depth,
    }
    stages.append(
        Stage(
            "evaluate",
            evaluate_settings,
            _stage_evaluate(config),
            [s.name for s in stages if s.name in ("teacher_train", "train", "index")],
        )
    )
    return stages


def run_pipeline(
    config: PipelineConfig,
    source: str | Path,
    force: set[str] = frozenset(),
    precision: str | None = None,
    strict: bool = False,
) -> list[StageOutcome]:
    """Run (or resume) every stage of `config`. Each `precision: auto` is first resolved for this
    machine (`precision` overrides them all), so stage keys hold what actually runs. `strict`:
    training queries that are evaluation queries are an error, not a warning."""
    from rankdistill.core.config import resolve_precisions
    from rankdistill.core.hardware import hardware_record
    from rankdistill.core.provenance import provenance
    from rankdistill.pipeline.preflight import preflight
    from rankdistill.pipeline.report import write_report

    shard = Shard.from_env()  # under torchrun every stage splits its work across the ranks
    run_dir = config.run_dir()
    preflight(config, source)
    check_writable(run_dir, "run folder")
    if config.teacher is not None:
        check_writable(store_root(config), "teacher score store")
    # rank 0 holds the run's lock for all ranks: a second `rankdistill run` is refused
    with run_lock(run_dir) if shard.is_main else contextlib.nullcontext():
        hardware = {
            **hardware_record(),
            "precision": resolve_precisions(config, precision),
            "world_size": shard.world_size,
        }
        if shard.is_main:
            atomic_write_json(
                run_dir / "config.json",
                {
                    "config": config_dict(config),
                    "source": str(source),
                    "hardware": hardware,
                    "provenance": provenance(),
                },
            )
        outcomes = run_stages(pipeline_stages(config, strict), run_dir, force, shard)
        if shard.is_main:
            write_report(config, run_dir, outcomes, source, hardware)
    return outcomes

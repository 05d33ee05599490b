"""The config of `rankdistill run`: the evaluation-only `RunConfig` plus the sections of the
distillation loop. Without `teacher` and `train` a run only evaluates.

    name: scifact-minilm            # run folder: <output_dir>/<name>
    seed: 13
    dataset: scifact                # where training queries come from
    teacher:                        # one member: that teacher; several: a calibrated ensemble
      members: [{teacher: bm25}, {teacher: "bi-encoder:all-MiniLM-L6-v2"}]
      train: null                   # or a `rankdistill teacher train` config; members may then
                                    # name `cross-encoder:trained`
    mine: {split: train, retrievers: [bm25], n_top: 8, n_random: 8, depth: 100, fn_margin: null,
           fn_reference: lowest}    # highest: for queries with many graded positives
    # or, for a corpus without training queries: pseudo-queries (rankdistill/mining/generate.py)
    # mine: {queries: generated, accept_rank: 3, ...}   (both: the split's judged queries beside them)
    # generate: {generator: "keywords?k=6", documents: 2000, seed: null, chunk_size: 256}
    train: {student: {...}, loss: listwise_kl, trainer: {...}, dev: {...}, data: {negatives: 8}}
                                    # student kind cross-encoder: no index stage; evaluated as a
                                    # reranker of BM25's top `rerank_depth` beside the teacher.
                                    # distill: embeddings: no teacher section, no mine stage
                                    # (configs/studies/embedding-distillation/)
    index: {spec: Flat}
    evaluate: {datasets: [scifact], split: test, retrievers: [bm25, "dense:all-MiniLM-L6-v2"]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rankdistill.core.config import (
    RunConfig,
    build_dataclass,
    checked,
    compose_yaml,
    field_line,
    node_line,
)
from rankdistill.core.errors import InputError, UserError
from rankdistill.core.hardware import PRECISIONS
from rankdistill.mining.false_negatives import ACTIONS, REFERENCES
from rankdistill.retrieval.encode import ENGINES
from rankdistill.retrieval.exported import BACKENDS
from rankdistill.teachers.ensemble_config import MemberConfig, check_members
from rankdistill.training.teacher import TeacherTrainingConfig

TRAINED = "trained"  # `cross-encoder:trained` names the teacher the run trains


@dataclass
class TeacherSection:
    # the teacher's members, z-scored (or otherwise calibrated) per query and summed with their weights
    members: list[MemberConfig] = checked(default_factory=list, nonempty=True)
    # train a cross-encoder teacher in the run first (cross-encoder:trained names it)
    train: TeacherTrainingConfig | None = None
    store: str | None = None  # score store folder; default <output_dir>/score-store, shared by runs


MODEL_TEACHERS = ("cross-encoder", "bi-encoder", "sparse")  # member kinds whose argument is a model


def member_models(teacher: TeacherSection | None) -> list[tuple[int, str]]:
    """(member index, model name) of every member that loads a model, but the one the run trains."""
    found = []
    for i, member in enumerate(teacher.members if teacher is not None else []):
        kind, _, model = member.teacher.partition(":")
        if kind in MODEL_TEACHERS and model and model != TRAINED:
            found.append((i, model))
    return found


QUERIES = ("split", "generated", "both", "unlabeled", "file:PATH")
GENERATED_ACCEPT_RANK = 3


@dataclass
class GenerateSection:
    """Pseudo-queries for `mine.queries: generated`: the run's generate stage, before mine."""

    generator: str = checked(
        "", nonempty=True
    )  # a spec: title | span | keywords | doc2query:MODEL, with ?key=value settings
    documents: int | None = checked(
        None, ge=1
    )  # documents drawn from the corpus (seeded); None: all of them
    seed: int | None = checked(None, ge=0)  # None: the run's seed
    chunk_size: int = checked(256, ge=1)  # documents per resumable chunk (and per rank's share)


@dataclass
class MineSection:
    # split: the judged queries of `split`; generated: the generate stage's pseudo-queries over the
    # corpus (no training split used), each source document kept as positive only where the
    # teacher agrees (`accept_rank`); both: the judged queries of `split` and the pseudo-queries,
    # `accept_rank` applying to the pseudo-queries alone (dev is carved from the judged ones);
    # unlabeled: the dataset's queries but the evaluated ones, no qrels file opened; file:PATH: a
    # query log. Without judgements the teacher picks each query's positives from the union of
    # the retrievers' top `depth` (rankdistill/mining/teacher_labelled.py)
    queries: str = checked("split", nonempty=True)
    # the judged split whose queries are mined (queries: split or both)
    split: str = "train"
    # first stages whose top `depth` are the candidates: bm25, dense:MODEL, sparse:MODEL
    retrievers: list[str] = checked(default_factory=lambda: ["bm25"], nonempty=True)
    # negatives taken from the top of the merged candidates
    n_top: int = checked(8, ge=0)
    # negatives drawn at random from the rest of the candidates
    n_random: int = checked(8, ge=0)
    # top candidates skipped before the top negatives (likely unjudged positives)
    skip_top: int = checked(0, ge=0)
    # how many hits each retriever returns per query
    depth: int = checked(100, ge=1)
    # the top negatives come from this deep only (None: depth)
    top_depth: int | None = checked(None, ge=1)
    # a candidate the teacher scores above the positive minus this margin is a suspected false negative
    fn_margin: float | None = None
    # or: above this fraction of the positive's score
    fn_fraction: float | None = checked(None, gt=0)
    # what happens to suspected false negatives: drop, or relabel them as positives
    fn_action: str = checked("drop", choices=ACTIONS)
    # which positive's score suspected false negatives are compared with
    fn_reference: str = checked("lowest", choices=REFERENCES)
    # encoding batch size of the dense and sparse retrievers
    batch_size: int = checked(32, ge=1)
    # max tokens the retrievers encode (None: the model's own)
    max_length: int | None = checked(None, ge=1)
    # a positive counts only if fewer than this many sampled negatives outscore it with the
    # teacher (rankdistill.mining.build_training_set); None: judged positives as they are, and
    # GENERATED_ACCEPT_RANK for generated queries. Judged queries always keep theirs.
    accept_rank: int | None = checked(None, ge=1)
    # unlabeled / file: queries: how many of the teacher's top candidates are a query's positives
    teacher_positives: int = checked(1, ge=1)
    # a label budget: only this many of `split`'s judged queries (chosen by a seeded hash) keep
    # their judgements. With `split`, the others are dropped (judgements only); with unlabeled /
    # file:, the chosen ones take their judged positives and the teacher labels the rest
    judged_queries: int | None = checked(None, ge=0)

    def label_free(self) -> bool:
        from rankdistill.data.query_sources import is_label_free

        return is_label_free(self.queries)

    def generated(self) -> bool:
        return self.queries in ("generated", "both")

    def accept(self) -> int | None:
        """The accept rank in force."""
        return (
            GENERATED_ACCEPT_RANK
            if self.accept_rank is None and self.generated()
            else self.accept_rank
        )


@dataclass
class IndexSection:
    # the index: a faiss index_factory string (Flat, HNSW32, IVF256,PQ32:nprobe=16) or binary, inverted, seismic
    spec: str = checked("Flat", nonempty=True)
    # encoding batch size of the corpus
    batch_size: int = checked(32, ge=1)
    # max tokens of a document (None: the model's own)
    max_length: int | None = checked(None, ge=1)
    precision: str = checked(
        "auto", choices=PRECISIONS
    )  # the corpus (and queries at search): auto | float32 | bf16 | fp16 (`bf16` alias)
    backend: str = checked(
        "auto", choices=BACKENDS
    )  # dense students: auto | torch | onnx | onnx-int8 | openvino


@dataclass
class PipelineConfig(RunConfig):
    # the training dataset: a catalogue name, a BEIR folder, or irds:<id>
    dataset: str = checked("scifact", nonempty=True)
    # the teacher section (members, optional training); none: an evaluation-only run
    teacher: TeacherSection | None = None
    # how training lists are mined and labelled by the teacher
    mine: MineSection = field(default_factory=MineSection)
    # pseudo-queries over the corpus, for mine.queries: generated or both
    generate: GenerateSection | None = None
    train: Any = None  # a rankdistill.training.TrainConfig (its `data` is filled by the run)
    # the index the student is served behind
    index: IndexSection = field(default_factory=IndexSection)
    rerank_depth: int = checked(
        100, ge=0
    )  # the teacher-as-reranker baseline reranks BM25's top this many; 0: no such baseline
    # where corpus encoding and the mine stage's candidate retrieval and teacher scoring run:
    # local (this process, or torchrun ranks) or ray (Ray Data pipelines on RAY_ADDRESS or a
    # local Ray; `pip install rankdistill[ray]`); results are the same
    engine: str = checked("local", choices=ENGINES)


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    from rankdistill.training.config import TrainConfig, check_train_config, train_config_from_node

    path = Path(path)
    root = compose_yaml(path)
    if not isinstance(root, yaml.MappingNode):
        raise InputError(path, "expected a mapping")
    train_nodes = [(k, v) for k, v in root.value if k.value == "train"]
    # `expected` and `tolerance` belong to regression configs (rankdistill/pipeline/regression.py)
    root.value = [
        (k, v) for k, v in root.value if k.value not in ("train", "expected", "tolerance")
    ]
    config = build_dataclass(PipelineConfig, root, "", path)
    if config.teacher is not None:
        if not config.teacher.members:  # the section given without a members key
            raise InputError(
                path, "name at least one teacher", field_line(path, "teacher"), "teacher.members"
            )
        check_members(
            config.teacher.members,
            path,
            "teacher.members",
            allow_trained=config.teacher.train is not None,
        )
    check_generate(config, path)
    if train_nodes:
        key, node = train_nodes[-1]
        if not isinstance(node, yaml.MappingNode):
            raise InputError(path, "expected a mapping", node_line(node), "train")
        train: TrainConfig = train_config_from_node(node, path, "train")
        if (
            train.student.distill == "embeddings"
        ):  # the teacher is train.student.teacher: no scores, no mining
            if config.teacher is not None:
                raise InputError(
                    path,
                    "an embedding-distillation run has no score teacher: its teacher is train.student.teacher",
                    field_line(path, "teacher"),
                    "teacher",
                )
        elif config.teacher is None:
            raise InputError(
                path, "a student needs a teacher: add a 'teacher' section", node_line(key), "train"
            )
        train.data.dataset, train.data.split, train.data.training_set = (
            config.dataset,
            training_split(config),
            "(mine stage)",
        )
        train.data.keep_split_queries = config.mine.queries == "both"
        train.data.judged = not config.mine.label_free()
        train.seed, train.data_root = config.seed, config.data_root
        check_train_config(train, path, node, prefix="train.")
        config.train = train
    if config.evaluate.fusion_weights and (
        config.train is None
        or config.train.student.kind != "cross-encoder"
        or not config.train.data.judged
        or config.train.dev.queries == 0
        or config.train.dev.rerank_depth is None
    ):
        raise InputError(
            path,
            "fusion with BM25 is for a cross-encoder student trained on judged queries, with a dev "
            "set to choose the weight (train.dev.queries > 0 and train.dev.rerank_depth)",
            field_line(path, "evaluate.fusion_weights"),
            "evaluate.fusion_weights",
        )
    return config


def training_split(config: PipelineConfig) -> str:
    """The qrels split the mine stage reads: `mine.split`, or the generated queries' source map
    (`both`: `mine.split`; the generated queries' judgements come with their folder)."""
    from rankdistill.mining.generate import SPLIT

    if config.mine.label_free():
        return "unlabeled"
    return SPLIT if config.mine.queries == "generated" else config.mine.split


def check_generate(config: PipelineConfig, path: Path) -> None:
    """`mine.queries: generated | both` and a `generate` section go together; the generator spec
    parses; generated queries are not cross-fitted (the teacher's folds split judged queries)."""
    from rankdistill.mining.generators import parse_generator_spec

    source = config.mine.queries
    if source not in QUERIES[:-1] and not (
        source.startswith("file:") and len(source) > len("file:")
    ):
        raise InputError(
            path,
            f"expected one of {', '.join(QUERIES)}, got {source!r}",
            field_line(path, "mine.queries"),
            "mine.queries",
        )
    if config.mine.judged_queries is not None and config.mine.generated():
        raise InputError(
            path,
            f"'mine.judged_queries' is a budget of judged queries of 'mine.split', not of 'mine.queries: {source}'",
            field_line(path, "mine.judged_queries"),
            "mine.judged_queries",
        )
    if config.mine.label_free():
        if config.generate is not None:
            raise InputError(
                path,
                f"a 'generate' section is not used with 'mine.queries: {source}'",
                field_line(path, "generate"),
                "generate",
            )
        if config.teacher is not None and config.teacher.train is not None:
            raise InputError(
                path,
                f"'mine.queries: {source}' has no judgements to train a teacher on: drop 'teacher.train'",
                field_line(path, "teacher.train"),
                "teacher.train",
            )
        return
    if config.mine.generated() and config.generate is None:
        raise InputError(
            path,
            "generated queries need a 'generate' section (generator, documents, seed)",
            field_line(path, "mine.queries"),
            "mine.queries",
        )
    if (
        config.mine.generated()
        and config.teacher is not None
        and config.teacher.train is not None
        and config.teacher.train.folds > 1
    ):
        raise InputError(
            path,
            f"'mine.queries: {config.mine.queries}' cannot be used with a cross-fitted teacher (teacher.train.folds > 1): "
            "its folds split the judged training queries only",
            field_line(path, "mine.queries"),
            "mine.queries",
        )
    if config.generate is not None:
        if config.mine.queries == "split":
            raise InputError(
                path,
                "a 'generate' section is used only with 'mine.queries: generated' or 'both'",
                field_line(path, "generate"),
                "generate",
            )
        try:
            parse_generator_spec(config.generate.generator)
        except UserError as exc:
            raise InputError(
                path, str(exc), field_line(path, "generate.generator"), "generate.generator"
            ) from None

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
    train: {student: {...}, loss: listwise_kl, trainer: {...}, dev: {...}, data: {negatives: 8}}
                                    # student kind cross-encoder: no index stage; evaluated as a
                                    # reranker of BM25's top `rerank_depth` beside the teacher.
                                    # distill: embeddings: no teacher section, no mine stage
                                    # (configs/experiments/*-embed-*.yaml)
    index: {spec: Flat}
    evaluate: {datasets: [scifact], split: test, retrievers: [bm25, "dense:all-MiniLM-L6-v2"]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rankdistill.config import RunConfig, build_dataclass, checked, compose_yaml, field_line, node_line
from rankdistill.errors import InputError
from rankdistill.hardware import PRECISIONS
from rankdistill.mining.false_negatives import ACTIONS, REFERENCES
from rankdistill.teachers.ensemble_config import MemberConfig, check_members
from rankdistill.training.teacher import TeacherTrainingConfig
from rankdistill.retrieval.exported import BACKENDS

TRAINED = "trained"  # `cross-encoder:trained` names the teacher the run trains


@dataclass
class TeacherSection:
    members: list[MemberConfig] = checked(default_factory=list, nonempty=True)
    train: TeacherTrainingConfig | None = None
    store: str | None = None  # score store folder; default <output_dir>/score-store, shared by runs


@dataclass
class MineSection:
    split: str = "train"
    retrievers: list[str] = checked(default_factory=lambda: ["bm25"], nonempty=True)
    n_top: int = checked(8, ge=0)
    n_random: int = checked(8, ge=0)
    skip_top: int = checked(0, ge=0)
    depth: int = checked(100, ge=1)
    top_depth: int | None = checked(None, ge=1)
    fn_margin: float | None = None
    fn_fraction: float | None = checked(None, gt=0)
    fn_action: str = checked("drop", choices=ACTIONS)
    fn_reference: str = checked("lowest", choices=REFERENCES)
    batch_size: int = checked(32, ge=1)
    max_length: int | None = checked(None, ge=1)


@dataclass
class IndexSection:
    spec: str = checked("Flat", nonempty=True)
    batch_size: int = checked(32, ge=1)
    max_length: int | None = checked(None, ge=1)
    precision: str = checked("auto", choices=PRECISIONS)  # the corpus (and queries at search): auto | float32 | bf16 | fp16 (`bf16` alias)
    backend: str = checked("auto", choices=BACKENDS)  # dense students: auto | torch | onnx | onnx-int8 | openvino


@dataclass
class PipelineConfig(RunConfig):
    dataset: str = checked("scifact", nonempty=True)
    teacher: TeacherSection | None = None
    mine: MineSection = field(default_factory=MineSection)
    train: Any = None  # a rankdistill.training.TrainConfig (its `data` is filled by the run)
    index: IndexSection = field(default_factory=IndexSection)
    rerank_depth: int = checked(100, ge=1)  # the teacher-as-reranker baseline reranks BM25's top this many


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    from rankdistill.training.config import TrainConfig, check_train_config, train_config_from_node

    path = Path(path)
    root = compose_yaml(path)
    if not isinstance(root, yaml.MappingNode):
        raise InputError(path, "expected a mapping")
    train_nodes = [(k, v) for k, v in root.value if k.value == "train"]
    # `expected` and `tolerance` belong to regression configs (rankdistill/pipeline/regression.py)
    root.value = [(k, v) for k, v in root.value if k.value not in ("train", "expected", "tolerance")]
    config = build_dataclass(PipelineConfig, root, "", path)
    if config.teacher is not None:
        if not config.teacher.members:  # the section given without a members key
            raise InputError(path, "name at least one teacher", field_line(path, "teacher"), "teacher.members")
        check_members(config.teacher.members, path, "teacher.members", allow_trained=config.teacher.train is not None)
    if train_nodes:
        key, node = train_nodes[-1]
        if not isinstance(node, yaml.MappingNode):
            raise InputError(path, "expected a mapping", node_line(node), "train")
        train: TrainConfig = train_config_from_node(node, path, "train")
        if train.student.distill == "embeddings":  # the teacher is train.student.teacher: no scores, no mining
            if config.teacher is not None:
                raise InputError(path, "an embedding-distillation run has no score teacher: its teacher is train.student.teacher",
                                 field_line(path, "teacher"), "teacher")
        elif config.teacher is None:
            raise InputError(path, "a student needs a teacher: add a 'teacher' section", node_line(key), "train")
        train.data.dataset, train.data.split, train.data.training_set = config.dataset, config.mine.split, "(mine stage)"
        train.seed, train.data_root = config.seed, config.data_root
        check_train_config(train, path, node)
        config.train = train
    return config

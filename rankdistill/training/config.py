"""The `rankdistill train` config: YAML into dataclasses, every mistake located by file, line
and field (the loader of `rankdistill/config.py`; the `loss:` mapping is checked by
`rankdistill.losses.parse_loss_spec`).

    name: scifact-minilm-kl        # the run folder: <output_dir>/<name>/{student, checkpoints}
    seed: 13
    data:     {dataset: scifact, split: train, training_set: FILE.jsonl, negatives: 8}
    student:  {kind: dense | sparse, model: all-MiniLM-L6-v2, max_length: 128, matryoshka_dims: [...], frozen_documents: false,
               query_regularizer_weight: 5e-5, document_regularizer_weight: 3e-5, regularizer_warmup_ratio: 0.33}
    loss:     listwise_kl  |  {listwise_kl: {temperature: 1.0}, infonce: {weight: 0.1}}
    trainer:  {epochs: 1, max_steps: -1, batch_size: 16, learning_rate: 2e-5, warmup_ratio: 0.1, scheduler: linear, precision: auto,
               save_steps: 100, save_total_limit: 2, logging_steps: 10}
    dev:      {queries: 50, split: null, corpus: candidates, distractors: 0, eval_steps: null}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rankdistill.config import build_dataclass, compose_yaml, node_line
from rankdistill.errors import InputError, UserError

KINDS = ("dense", "sparse")
DEV_CORPORA = ("candidates", "full")
SCHEDULERS = ("linear", "constant")


@dataclass
class DataConfig:
    dataset: str = ""  # name or BEIR folder the training set was mined from (doc texts, dev qrels)
    split: str = "train"  # the qrels split the training set was mined from
    training_set: str = ""  # `rankdistill mine` output (JSONL)
    negatives: int = 8  # negatives per row; records with fewer are skipped and counted
    positives: int | None = None  # rows per query: its top-scored positives, at most this many (None: all)


@dataclass
class StudentConfig:
    kind: str = "dense"
    model: str = "all-MiniLM-L6-v2"  # dense: any SentenceTransformer; sparse: SPLADE or MLM checkpoint
    max_length: int | None = None
    matryoshka_dims: list[int] = field(default_factory=list)  # dense only; include the full dimension
    query_regularizer_weight: float = 5e-5  # sparse: FLOPS weights (SpladeLoss), warmed up from 0
    document_regularizer_weight: float = 3e-5
    regularizer_warmup_ratio: float = 1 / 3
    # dense only: query-side distillation (rankdistill/training/query_side.py). The corpus is
    # encoded once by `model` (the run's index stage) and only a query encoder trains, at
    # `max_length` (queries); the student is a query/document Router folder.
    frozen_documents: bool = False


@dataclass
class TrainerConfig:
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 16  # rows per device and step
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    scheduler: str = "linear"  # linear: warm-up then decay to 0; constant: warm-up then flat (a dev curve
    # from one long run then reads as the result of stopping at each epoch)
    weight_decay: float = 0.01
    precision: str = "auto"  # auto | float32 | bf16 | fp16 (`bf16: true|false` is an alias)
    save_steps: int = 100
    save_total_limit: int = 2
    logging_steps: int = 10
    device: str | None = None  # cpu, cuda, ... (default: best available)
    ddp_backend: str | None = None  # default: nccl on GPU, gloo on CPU


@dataclass
class DevConfig:
    queries: int = 50  # 0 turns dev evaluation off
    split: str | None = None  # a qrels split to evaluate on; None: carve `queries` from the training set
    corpus: str = "candidates"  # candidates: judged + mined docs of the dev queries (+ distractors); full
    distractors: int = 0  # random extra corpus documents for the candidates corpus
    eval_steps: int | None = None  # default: trainer.save_steps
    batch_size: int = 32


@dataclass
class TrainConfig:
    name: str = "train"
    seed: int = 13
    data_root: str | None = None
    output_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    loss: Any = None  # a loss spec, see rankdistill.losses
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    dev: DevConfig = field(default_factory=DevConfig)

    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


def load_train_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    node = compose_yaml(path)
    if not isinstance(node, yaml.MappingNode):
        raise InputError(path, "expected a mapping")
    config = train_config_from_node(node, path)
    check_train_config(config, path, node)
    return config


def train_config_from_node(node: yaml.MappingNode, path: Path, where: str = "") -> TrainConfig:
    """A TrainConfig from its YAML mapping (a whole file, or the `train:` section of a run
    config at `where`); the caller fills what is missing and calls `check_train_config`."""
    # The loss spec is free-form (names -> parameters): take it out and check it on its own.
    loss_nodes = [(k, v) for k, v in node.value if k.value == "loss"]
    node.value = [(k, v) for k, v in node.value if k.value != "loss"]
    config = build_dataclass(TrainConfig, node, where, path)
    loss_field = f"{where}.loss" if where else "loss"
    if not loss_nodes:
        raise InputError(path, "missing: name a loss, e.g. 'loss: listwise_kl' (see rankdistill/losses)", node_line(node), loss_field)
    if len(loss_nodes) > 1:
        raise InputError(path, "given twice", node_line(loss_nodes[1][0]), loss_field)
    config.loss = loss_spec_from_node(loss_nodes[0][1], path)
    return config


def _value_line(node: yaml.Node, dotted: str) -> int | None:
    """The line of `a.b` under a mapping node, if it is written there (else None: a default)."""
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            return None
        found = next((value for key, value in node.value if key.value == part), None)
        if found is None:
            return None
        node = found
    return node_line(node)


def loss_spec_from_node(node: yaml.Node, path: Path) -> Any:
    from rankdistill.losses import parse_loss_spec

    spec = yaml.safe_load(yaml.serialize(node))
    try:
        parse_loss_spec(spec)
    except UserError as exc:
        line, where = node_line(node), "loss"
        if isinstance(node, yaml.MappingNode):  # point at the entry the message is about
            for key, _ in node.value:
                if repr(key.value) in str(exc):
                    line, where = node_line(key), f"loss.{key.value}"
                    break
        raise InputError(path, str(exc), line, where) from None
    return spec


def check_train_config(config: TrainConfig, path: Path, root: yaml.Node) -> None:
    def fail(where: str, message: str) -> None:
        raise InputError(path, message, _value_line(root, where), where)

    for key in ("dataset", "training_set"):
        if not getattr(config.data, key).strip():
            fail(f"data.{key}", "missing")
    if config.data.negatives < 1:
        fail("data.negatives", "must be >= 1")
    if config.data.positives is not None and config.data.positives < 1:
        fail("data.positives", "must be >= 1 (or null: every positive)")
    if config.student.kind not in KINDS:
        fail("student.kind", f"expected one of {', '.join(KINDS)}, got {config.student.kind!r}")
    if config.student.matryoshka_dims and config.student.kind != "dense":
        fail("student.matryoshka_dims", "Matryoshka training is for dense students")
    if any(d < 1 for d in config.student.matryoshka_dims):
        fail("student.matryoshka_dims", "dimensions must be >= 1")
    if config.student.frozen_documents and (config.student.kind != "dense" or config.student.matryoshka_dims):
        fail("student.frozen_documents", "query-side training is for dense students without Matryoshka dimensions")
    if not 0 < config.student.regularizer_warmup_ratio <= 1:
        fail("student.regularizer_warmup_ratio", "must be in (0, 1]")
    for key in ("query_regularizer_weight", "document_regularizer_weight"):
        if getattr(config.student, key) < 0:
            fail(f"student.{key}", "must be >= 0")
    for key in ("batch_size", "save_steps", "logging_steps", "save_total_limit"):
        if getattr(config.trainer, key) < 1:
            fail(f"trainer.{key}", "must be >= 1")
    if config.trainer.max_steps <= 0 and config.trainer.epochs <= 0:
        fail("trainer.epochs", "must be > 0 (or set trainer.max_steps)")
    if config.trainer.scheduler not in SCHEDULERS:
        fail("trainer.scheduler", f"expected one of {', '.join(SCHEDULERS)}, got {config.trainer.scheduler!r}")
    if not 0 <= config.trainer.warmup_ratio < 1:
        fail("trainer.warmup_ratio", "must be in [0, 1)")
    if config.dev.queries < 0:
        fail("dev.queries", "must be >= 0 (0: no dev evaluation)")
    if config.dev.split == "test":
        fail("dev.split", "the test split is never used during training (no tuning on test)")
    if config.dev.corpus not in DEV_CORPORA:
        fail("dev.corpus", f"expected one of {', '.join(DEV_CORPORA)}, got {config.dev.corpus!r}")
    if config.dev.eval_steps is not None and config.dev.eval_steps < 1:
        fail("dev.eval_steps", "must be >= 1")


def config_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)

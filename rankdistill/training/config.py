"""The `rankdistill train` config: YAML into dataclasses, every mistake located by file, line
and field (the loader of `rankdistill/core/config.py`; the `loss:` mapping is checked by
`rankdistill.losses.parse_loss_spec`).

    name: scifact-minilm-kl        # the run folder: <output_dir>/<name>/{student, checkpoints}
    seed: 13
    data:     {dataset: scifact, split: train, training_set: FILE.jsonl, negatives: 8}
    student:  {kind: dense | sparse | cross-encoder, model: all-MiniLM-L6-v2, max_length: 128, matryoshka_dims: [...], frozen_documents: false,
               query_regularizer_weight: 5e-5, document_regularizer_weight: 3e-5, regularizer_warmup_ratio: 0.33,
               layers: 3,                                   # keep the model's first 3 transformer layers (cross-encoder students); [0, 5]: those layers
               distill: scores | embeddings, teacher: all-mpnet-base-v2, projection: auto | linear | none,
               serve: student | teacher-documents, texts: [documents, queries, sentences, titles], max_texts: 20000,
               teacher_max_length: 256, document_kl: 1.0}   # distill: embeddings (training/embeddings.py)
    loss:     listwise_kl  |  {listwise_kl: {temperature: 1.0}, infonce: {weight: 0.1}}  |  mse | cosine (distill: embeddings)
              cross-encoder students may add {hidden_mse: {weight: 1.0, teacher: FOLDER}} (TinyBERT's layer losses)
    trainer:  {epochs: 1, max_steps: -1, batch_size: 16, learning_rate: 2e-5, warmup_ratio: 0.1, scheduler: linear, precision: auto,
               save_steps: 100, save_total_limit: 2, logging_steps: 10}
    dev:      {queries: 50, split: null, corpus: candidates, distractors: 0, eval_steps: null, rerank_depth: null (cross-encoder: 100)}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rankdistill.core.config import build_dataclass, checked, compose_yaml, node_line
from rankdistill.core.errors import InputError, UserError
from rankdistill.core.hardware import PRECISIONS

KINDS = ("dense", "sparse", "cross-encoder")
DISTILL = (
    "scores",
    "embeddings",
)  # what the student learns from: the teacher's scores of mined lists, or its embeddings
PROJECTIONS = (
    "auto",
    "linear",
    "none",
)  # auto: a Dense layer onto the teacher's dimension only when the two differ
SERVE = (
    "student",
    "teacher-documents",
)  # teacher-documents: the student encodes queries, the teacher's index holds the documents
ALIGNMENT_TEXTS = ("documents", "queries", "sentences", "titles")
ALIGNMENT_LOSSES = ("mse", "cosine")
DEV_CORPORA = ("candidates", "full")
SCHEDULERS = ("linear", "constant")


@dataclass
class DataConfig:
    dataset: str = ""  # name or BEIR folder the training set was mined from (doc texts, dev qrels)
    split: str = "train"  # the qrels split the training set was mined from
    training_set: str = ""  # `rankdistill mine` output (JSONL)
    negatives: int = checked(
        8, ge=1
    )  # negatives per row; records with fewer are skipped and counted
    positives: int | None = checked(
        None, ge=1
    )  # rows per query: its top-scored positives, at most this many (None: all)
    # a folder of generated queries (rankdistill.mining.generate): its queries.jsonl and
    # qrels/<split>.tsv replace the dataset's own; None: the dataset's queries of `split`
    queries: str | None = None
    # with `queries`: the judged queries of `split` stay beside the generated ones (qrels/generated.tsv
    # of the folder), and dev is carved from the judged ones only (`mine.queries: both`)
    keep_split_queries: bool = False
    # false: the training set's positives were chosen by the teacher (`mine.queries: unlabeled` or
    # `file:`): no qrels file is opened, and a carved dev set is judged by the teacher (dev.teacher_top)
    judged: bool = True
    # multiplies the teacher's scores in every row; None (auto): a teacher that declared cosine
    # scores (a bi-encoder) is put on the student's scale, the largest `scale` of the loss spec
    # (their softmax over a list is otherwise almost uniform), any other teacher is left as it is
    teacher_scale: float | None = checked(None, gt=0)


@dataclass
class StudentConfig:
    # the student family: dense, sparse (SPLADE) or cross-encoder
    kind: str = checked("dense", choices=KINDS)
    model: str = checked(
        "all-MiniLM-L6-v2", nonempty=True
    )  # dense: any SentenceTransformer; sparse: SPLADE or MLM checkpoint
    # max tokens while training (query-side: the queries' cut; inference keeps the model's own)
    max_length: int | None = checked(None, ge=1)
    matryoshka_dims: list[int] = checked(
        default_factory=list, ge=1
    )  # dense only; include the full dimension
    query_regularizer_weight: float = checked(
        5e-5, ge=0
    )  # sparse: FLOPS weights (SpladeLoss), warmed up from 0
    # sparse: the FLOPS weight on document vectors
    document_regularizer_weight: float = checked(3e-5, ge=0)
    # sparse: fraction of training over which the FLOPS weights rise from 0
    regularizer_warmup_ratio: float = checked(1 / 3, gt=0, le=1)
    # dense only: query-side distillation (rankdistill/training/query_side.py). The corpus is
    # encoded once by `model` (the run's index stage) and only a query encoder trains, at
    # `max_length` (queries); the student is a query/document Router folder.
    frozen_documents: bool = False
    # query-side: the saved query encoder is (1 - a) * starting + a * trained, weight by weight
    # (WiSE-FT: Wortsman et al., "Robust fine-tuning of zero-shot models", arXiv:2109.01903):
    # a < 1 gives back some of the in-domain gain for the starting model's out-of-domain quality
    interpolate: float = checked(1.0, gt=0, le=1)
    # query-side: w of a term that keeps the query encoder's vectors of corpus documents (cut at the
    # query max length) where the starting model put them, 1 - cos(E_q(d), E_q0(d)): queries that
    # read like documents (ArguAna's arguments) are then still encoded as before (a functional
    # anchor: Li & Hoiem, "Learning without Forgetting", arXiv:1606.09282); 0: off
    anchor: float = checked(0.0, ge=0)
    # query-side: the corpus-level loss terms score each batch against its listed documents and
    # this many uniformly sampled others, logQ-corrected (rankdistill/training/corpus_sampling.py);
    # None: the whole frozen corpus, up to 500,000 documents (65,536 sampled above that)
    corpus_negatives: int | None = checked(None, ge=1)
    # cross-encoder: a one-logit CrossEncoder from any CrossEncoder folder or BERT-style body;
    # `layers: N` keeps the body's first N transformer layers (e.g. 3 of MiniLM-L6), `layers:
    # [i, j, ..]` those layers (0-based, ascending), e.g. [0, 5]: the first and the last of six
    layers: int | list[int] | None = checked(None, ge=0)
    # dense, `distill: embeddings` (rankdistill/training/embeddings.py): align the student's
    # embeddings to `teacher`'s on corpus texts, no labels; see ALIGNMENT_* above
    distill: str = checked("scores", choices=DISTILL)
    # distill: embeddings: the embedding model whose vectors the student is aligned to
    teacher: str | None = None
    # distill: embeddings: a linear map when the dimensions differ (auto), always (linear), or none
    projection: str = checked("auto", choices=PROJECTIONS)
    # distill: embeddings: the student's own index (student) or the teacher's document index (teacher-documents)
    serve: str = checked("student", choices=SERVE)
    # distill: embeddings: which texts are aligned (documents, queries, sentences, titles)
    texts: list[str] = checked(
        default_factory=lambda: ["documents", "queries"], choices=ALIGNMENT_TEXTS, nonempty=True
    )
    max_texts: int | None = checked(
        None, ge=1
    )  # at most this many alignment texts (a seeded sample)
    teacher_max_length: int | None = checked(
        None, ge=1
    )  # the teacher's max length for its targets (None: its own)
    # w of a KL between the teacher's and the student's softmax over the teacher's document
    # vectors, beside the alignment loss (rankdistill/losses/document_kl.py); 0: alignment only
    document_kl: float = checked(0.0, ge=0)


@dataclass
class TrainerConfig:
    epochs: float = checked(1.0, ge=0)  # > 0 unless max_steps is set
    max_steps: int = checked(-1, ge=-1)  # > 0 overrides epochs
    batch_size: int = checked(16, ge=1)  # rows per device and step
    # AdamW learning rate
    learning_rate: float = checked(2e-5, gt=0)
    # fraction of steps of warm-up
    warmup_ratio: float = checked(0.1, ge=0, lt=1)
    scheduler: str = checked(
        "linear", choices=SCHEDULERS
    )  # linear: warm-up then decay to 0; constant: warm-up
    # then flat (a dev curve from one long run then reads as the result of stopping at each epoch)
    weight_decay: float = checked(0.01, ge=0)
    precision: str = checked(
        "auto", choices=PRECISIONS
    )  # auto | float32 | bf16 | fp16 (`bf16: true|false` is an alias)
    gradient_checkpointing: bool = (
        False  # recompute activations in the backward pass: less memory, slower steps
    )
    # steps between checkpoints (a killed training resumes from the last)
    save_steps: int = checked(100, ge=1)
    # checkpoints kept on disk
    save_total_limit: int = checked(2, ge=1)
    # steps between loss logs
    logging_steps: int = checked(10, ge=1)
    # query-side students: last | best_dev (the epoch with the best dev nDCG@10 is saved, ties to
    # the earlier; with data.judged false that is the best agreement with the teacher)
    select: str = checked("last", choices=("last", "best_dev"))
    device: str | None = None  # cpu, cuda, ... (default: best available)
    ddp_backend: str | None = None  # default: nccl on GPU, gloo on CPU


@dataclass
class DevConfig:
    queries: int = checked(50, ge=0)  # 0 turns dev evaluation off
    split: str | None = (
        None  # a qrels split to evaluate on; None: carve `queries` from the training set
    )
    corpus: str = checked(
        "candidates", choices=DEV_CORPORA
    )  # candidates: judged + mined docs of the dev queries (+ distractors); full
    distractors: int = checked(0, ge=0)  # random extra corpus documents for the candidates corpus
    eval_steps: int | None = checked(None, ge=1)  # default: trainer.save_steps
    # encoding batch size of dev evaluation
    batch_size: int = checked(32, ge=1)
    # cross-encoder students: the dev queries' BM25 top `rerank_depth` (over the whole corpus) are
    # reranked and scored (nDCG@10, beside BM25's own); None: no dev evaluation for them
    rerank_depth: int | None = checked(None, ge=1)
    # without judgements (data.judged: false): a carved dev query's relevant documents are the
    # teacher's top this many of its mined list, so the dev curve is agreement with the teacher
    teacher_top: int = checked(3, ge=1)
    # studies only, without judgements: also measure the dev queries against this qrels split
    # (e.g. train) to show how the teacher's dev signal tracks judgements; it selects nothing, but
    # the run has then read judgements (the record says so)
    track_judged: str | None = None
    # true: the carved dev queries depend on the run's seed too, so a seed varies every source of
    # randomness (the dev carve, hence the training queries and the chosen epoch); false: the same
    # dev queries for every seed
    resample: bool = False


@dataclass
class TrainConfig:
    name: str = checked("train", nonempty=True)
    seed: int = checked(13, ge=0)
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
    if config.student.distill == "embeddings":  # an alignment loss, not a list loss
        if len(loss_nodes) > 1:
            raise InputError(path, "given twice", node_line(loss_nodes[1][0]), loss_field)
        config.loss = "mse"
        if loss_nodes:
            value = loss_nodes[0][1]
            config.loss = yaml.safe_load(yaml.serialize(value))
            if config.loss not in ALIGNMENT_LOSSES:
                raise InputError(
                    path,
                    f"embedding distillation aligns with {' or '.join(ALIGNMENT_LOSSES)}, got {config.loss!r}",
                    node_line(value),
                    loss_field,
                )
        return config
    if not loss_nodes:
        raise InputError(
            path,
            "missing: name a loss, e.g. 'loss: listwise_kl' (see rankdistill/losses)",
            node_line(node),
            loss_field,
        )
    if len(loss_nodes) > 1:
        raise InputError(path, "given twice", node_line(loss_nodes[1][0]), loss_field)
    config.loss = loss_spec_from_node(loss_nodes[0][1], path)
    from rankdistill.losses import REGISTRY, parse_loss_spec

    for name in parse_loss_spec(config.loss):
        if (why := REGISTRY[name].refuses(config.student.kind)) is not None:
            raise InputError(path, why, node_line(loss_nodes[0][1]), loss_field)
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


def check_train_config(config: TrainConfig, path: Path, root: yaml.Node, prefix: str = "") -> None:
    """Checks across fields; errors name the field as the file writes it (`prefix`: "train." when
    the train config is a run config's `train:` section)."""

    def fail(where: str, message: str) -> None:
        parts = where.split(".")  # a missing field: the line of the nearest part that is written
        line = next(
            (
                found
                for n in range(len(parts), 0, -1)
                if (found := _value_line(root, ".".join(parts[:n]))) is not None
            ),
            node_line(root),
        )
        raise InputError(path, message, line, prefix + where)

    student = config.student
    embeddings = student.distill == "embeddings"
    for key in ("dataset",) if embeddings else ("dataset", "training_set"):
        if not getattr(config.data, key).strip():
            fail(f"data.{key}", "missing")
    if student.layers is not None and student.kind != "cross-encoder":
        fail(
            "student.layers",
            "truncating the body is for cross-encoder students (kind: cross-encoder)",
        )
    if isinstance(student.layers, int) and student.layers < 1:
        fail(
            "student.layers",
            f"must be >= 1 (the number of first layers kept), got {student.layers}",
        )
    if isinstance(student.layers, list) and (
        not student.layers or student.layers != sorted(set(student.layers))
    ):
        fail(
            "student.layers",
            f"a list of layers is of distinct 0-based indices in ascending order, got {student.layers}",
        )
    if embeddings:
        if student.kind != "dense":
            fail("student.distill", "embedding distillation is for dense students (kind: dense)")
        if not (student.teacher or "").strip():
            fail(
                "student.teacher",
                "missing: name the embedding model to align to, e.g. all-mpnet-base-v2",
            )
        if student.matryoshka_dims or student.frozen_documents:
            fail(
                "student.distill",
                "embedding distillation does not combine with matryoshka_dims or frozen_documents",
            )
    else:
        for key, default in (
            ("teacher", None),
            ("serve", "student"),
            ("projection", "auto"),
            ("max_texts", None),
            ("teacher_max_length", None),
            ("document_kl", 0.0),
        ):
            if getattr(student, key) != default:
                fail(
                    f"student.{key}", "is for embedding distillation (student.distill: embeddings)"
                )
    if student.kind == "cross-encoder" and (student.matryoshka_dims or student.frozen_documents):
        fail(
            "student.kind",
            "a cross-encoder student has no embeddings: drop matryoshka_dims / frozen_documents",
        )

    if config.student.matryoshka_dims and config.student.kind != "dense":
        fail("student.matryoshka_dims", "Matryoshka training is for dense students")
    if config.student.interpolate != 1.0 and not config.student.frozen_documents:
        fail(
            "student.interpolate",
            "weight interpolation is for query-side students (frozen_documents: true)",
        )
    if config.dev.track_judged and not config.student.frozen_documents:
        fail(
            "dev.track_judged",
            "tracking judgements beside the dev set is for query-side students (frozen_documents: true)",
        )
    if config.trainer.select != "last" and not config.student.frozen_documents:
        fail(
            "trainer.select",
            "choosing the best dev epoch is for query-side students (frozen_documents: true)",
        )
    if config.student.anchor and not config.student.frozen_documents:
        fail(
            "student.anchor",
            "the document anchor is for query-side students (frozen_documents: true)",
        )
    if config.student.frozen_documents and (
        config.student.kind != "dense" or config.student.matryoshka_dims
    ):
        fail(
            "student.frozen_documents",
            "query-side training is for dense students without Matryoshka dimensions",
        )
    if config.trainer.max_steps <= 0 and config.trainer.epochs <= 0:
        fail("trainer.epochs", "must be > 0 (or set trainer.max_steps)")
    if config.dev.rerank_depth is not None and student.kind != "cross-encoder":
        fail(
            "dev.rerank_depth",
            "reranking a dev query's BM25 candidates is for cross-encoder students",
        )
    if config.dev.split == "test":
        fail("dev.split", "the test split is never used during training (no tuning on test)")


def config_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)

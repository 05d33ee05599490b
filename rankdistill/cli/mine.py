"""`rankdistill mine`: build a distillation training set (mine, sample, teacher-score, filter)."""

from __future__ import annotations

import argparse

from rankdistill.cli.common import add_data_root_argument
from rankdistill.core.config import RunConfig, flag_type
from rankdistill.encoders.models import EncodingSettings
from rankdistill.pipeline.config import MineSection
from rankdistill.retrieval.encode import ENGINES

OPTIONS = (
    "n_top",
    "n_random",
    "skip_top",
    "depth",
    "top_depth",
    "fn_margin",
    "fn_fraction",
    "fn_action",
    "fn_reference",
    "seed",
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    mine = commands.add_parser(
        "mine", help="build a distillation training set: mine, sample, teacher-score, filter"
    )
    mine.add_argument("--dataset", required=True, help="name or BEIR folder")
    mine.add_argument("--split", default="train", help="qrels split to mine (default train)")
    mine.add_argument(
        "--retriever",
        action="append",
        required=True,
        help="bm25 | dense:MODEL | sparse:MODEL; repeatable",
    )
    mine.add_argument(
        "--teacher",
        required=True,
        help="cross-encoder:MODEL | bi-encoder:MODEL | sparse:MODEL | bm25",
    )
    mine.add_argument(
        "--store", required=True, help="teacher score store folder (reused across runs)"
    )
    mine.add_argument(
        "--output", required=True, help="training set FILE.jsonl (sidecar FILE.jsonl.meta.json)"
    )
    mine.add_argument(
        "--n-top",
        type=flag_type(MineSection, "n_top"),
        default=8,
        help="hardest negatives per query (default 8)",
    )
    mine.add_argument(
        "--n-random",
        type=flag_type(MineSection, "n_random"),
        default=8,
        help="uniformly sampled negatives per query (default 8)",
    )
    mine.add_argument(
        "--skip-top",
        type=flag_type(MineSection, "skip_top"),
        default=0,
        help="never sample what a retriever ranked this high (default 0)",
    )
    mine.add_argument(
        "--depth",
        type=flag_type(MineSection, "depth"),
        default=100,
        help="hits per retriever and query (default 100)",
    )
    mine.add_argument(
        "--top-depth",
        type=flag_type(MineSection, "top_depth"),
        default=None,
        help="deepest rank for top picks (default: --depth)",
    )
    mine.add_argument(
        "--fn-margin",
        type=flag_type(MineSection, "fn_margin"),
        default=None,
        help="suspect negatives scoring >= reference positive - margin",
    )
    mine.add_argument(
        "--fn-fraction",
        type=flag_type(MineSection, "fn_fraction"),
        default=None,
        help="suspect negatives scoring >= fraction * reference positive (positive-scale scores only)",
    )
    mine.add_argument(
        "--fn-reference",
        choices=("lowest", "highest"),
        default="lowest",
        help="which of a query's positive scores the rules compare with (default lowest; highest for many graded positives)",
    )
    mine.add_argument(
        "--fn-action",
        choices=("drop", "relabel"),
        default="drop",
        help="what to do with suspected false negatives",
    )
    mine.add_argument("--seed", type=flag_type(RunConfig, "seed"), default=13)
    mine.add_argument("--batch-size", type=flag_type(MineSection, "batch_size"), default=32)
    mine.add_argument(
        "--max-length",
        type=flag_type(MineSection, "max_length"),
        default=None,
        help="override the models' max sequence length",
    )
    mine.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    mine.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="where candidates are retrieved and the teacher scores the pairs the store lacks "
        "(ray: Ray Data pipelines on "
        "RAY_ADDRESS or a local Ray; pip install rankdistill[ray])",
    )
    add_data_root_argument(mine)
    mine.add_argument(
        "--queries",
        default=None,
        help="a folder of generated queries (rankdistill generate) instead of a qrels split",
    )
    mine.add_argument(
        "--accept-rank",
        type=flag_type(MineSection, "accept_rank"),
        default=None,
        help="keep a positive only if fewer than this many sampled negatives outscore it with the teacher (default: all; 3 suits --queries)",
    )
    mine.add_argument(
        "--unjudged",
        default=None,
        metavar="unlabeled|FILE",
        help="queries without judgements: 'unlabeled' (the dataset's queries but those of --exclude-split; no qrels read) "
        "or a query log FILE (one query a line, or JSONL _id/text); the teacher picks each query's positives "
        "from the union of the retrievers' top --depth",
    )
    mine.add_argument(
        "--exclude-split",
        default="test",
        help="with --unjudged unlabeled: the evaluated split whose queries are left out (default test)",
    )
    mine.add_argument(
        "--teacher-positives",
        type=flag_type(MineSection, "teacher_positives"),
        default=1,
        help="with --unjudged: the teacher's top this many are a query's positives (default 1)",
    )
    mine.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.core.distributed import Shard
    from rankdistill.data import open_dataset
    from rankdistill.data.open import corpus_texts
    from rankdistill.mining import build_training_set, meta_path, write_training_set
    from rankdistill.teachers import build_teacher

    if args.unjudged:
        return handle_unjudged(args)
    if args.queries:  # generated queries (`rankdistill generate`) over the dataset's corpus
        from rankdistill.data import open_with_queries
        from rankdistill.mining.generate import SPLIT

        dataset = open_with_queries(args.dataset, args.queries, SPLIT, args.data_root)
    else:
        dataset = open_dataset(args.dataset, args.split, args.data_root)
    encoding = EncodingSettings(args.batch_size, args.max_length, args.device)
    teacher = build_teacher(args.teacher, corpus_texts(dataset)[1], encoding=encoding)
    options = {name: getattr(args, name) for name in OPTIONS}
    settings = {
        "dataset": dataset.name,
        "split": dataset.split,
        "retrievers": args.retriever,
        "teacher": args.teacher,
        "teacher_fingerprint": teacher.fingerprint,
        **options,
    }
    shard = (
        Shard.from_env()
    )  # under torchrun the ranks split candidate retrieval and teacher scoring
    records, counts = build_training_set(
        dataset,
        args.retriever,
        teacher,
        args.store,
        **options,
        encoding=encoding,
        engine=args.engine,
        progress=args.verbose,
        teacher_info={"spec": args.teacher},
        shard=shard,
        accept_rank=args.accept_rank,
    )
    if args.queries:
        settings.update(queries=args.queries, accept_rank=args.accept_rank)
    if not shard.is_main:
        return  # every rank has the same records; rank 0 writes them
    write_training_set(args.output, records, {"config": settings, "counts": counts})
    print(", ".join(f"{key} {value}" for key, value in counts.items()))
    print(f"wrote {args.output} and {meta_path(args.output)}")


def handle_unjudged(args: argparse.Namespace) -> None:
    """Mine queries without judgements: the teacher's top picks are the positives."""
    from rankdistill.core.distributed import Shard
    from rankdistill.data.open import corpus_texts
    from rankdistill.data.query_sources import (
        UNLABELED,
        evaluated_queries,
        open_query_log,
        open_unlabeled,
    )
    from rankdistill.mining import meta_path, write_training_set
    from rankdistill.mining.teacher_labelled import teacher_labelled_set
    from rankdistill.teachers import build_teacher

    if args.unjudged == UNLABELED:
        dataset = open_unlabeled(
            args.dataset,
            set(evaluated_queries(args.dataset, args.exclude_split, args.data_root)),
            args.data_root,
        )
    else:
        dataset = open_query_log(args.dataset, args.unjudged, args.data_root)
    encoding = EncodingSettings(args.batch_size, args.max_length, args.device)
    teacher = build_teacher(args.teacher, corpus_texts(dataset)[1], encoding=encoding)
    shard = Shard.from_env()
    records, counts = teacher_labelled_set(
        dataset,
        args.retriever,
        teacher,
        args.store,
        positives=args.teacher_positives,
        n_top=args.n_top,
        n_random=args.n_random,
        depth=args.depth,
        seed=args.seed,
        encoding=encoding,
        engine=args.engine,
        progress=args.verbose,
        teacher_info={"spec": args.teacher},
        shard=shard,
    )
    if not shard.is_main:
        return
    settings = {
        "dataset": dataset.name,
        "split": dataset.split,
        "queries": args.unjudged,
        "judgements": "none (teacher-chosen positives)",
        "retrievers": args.retriever,
        "teacher": args.teacher,
        "teacher_fingerprint": teacher.fingerprint,
        "teacher_positives": args.teacher_positives,
        "n_top": args.n_top,
        "n_random": args.n_random,
        "depth": args.depth,
        "seed": args.seed,
    }
    write_training_set(args.output, records, {"config": settings, "counts": counts})
    print(", ".join(f"{key} {value}" for key, value in counts.items()))
    print(f"wrote {args.output} and {meta_path(args.output)}")

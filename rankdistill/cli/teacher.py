"""`rankdistill teacher train`: fine-tune a cross-encoder teacher on a dataset's judgements."""

from __future__ import annotations

import argparse

from rankdistill.cli.common import add_data_root_argument
from rankdistill.core.config import flag_type
from rankdistill.core.hardware import PRECISIONS
from rankdistill.training.teacher import TeacherTrainingConfig


def _flag(name: str):
    return flag_type(TeacherTrainingConfig, name)


def add_parser(commands: argparse._SubParsersAction) -> None:
    teacher = commands.add_parser("teacher", help="teachers").add_subparsers(
        dest="teacher_command", required=True
    )
    train = teacher.add_parser(
        "train", help="fine-tune a cross-encoder teacher on a dataset's judgements (ListNet)"
    )
    train.add_argument("--dataset", required=True, help="name or BEIR folder")
    train.add_argument("--split", default="train")
    train.add_argument(
        "--base", default="all-MiniLM-L6-v2", help="model to start from (folder, alias or hub id)"
    )
    train.add_argument(
        "--retriever",
        action="append",
        default=None,
        help="where negatives come from (default bm25); repeatable",
    )
    train.add_argument("--output", required=True, help="folder for the trained CrossEncoder")
    train.add_argument("--negatives", type=_flag("negatives"), default=7, help="negatives per list")
    train.add_argument(
        "--positives",
        type=_flag("positives"),
        default=None,
        help="at most N positives per list, highest grade first (default: all judged)",
    )
    train.add_argument(
        "--retrieved-positives",
        action="store_true",
        help="positives only among judged documents the retrievers return within --depth",
    )
    train.add_argument(
        "--skip-top",
        type=_flag("skip_top"),
        default=2,
        help="never sample the first N ranks as negatives",
    )
    train.add_argument(
        "--depth", type=_flag("depth"), default=100, help="sample negatives from ranks up to this"
    )
    train.add_argument("--epochs", type=_flag("epochs"), default=2.0)
    train.add_argument(
        "--max-steps",
        type=_flag("max_steps"),
        default=-1,
        help="stop after N steps (overrides --epochs)",
    )
    train.add_argument("--lr", type=_flag("learning_rate"), default=1e-4)
    train.add_argument(
        "--warmup", type=_flag("warmup_ratio"), default=0.1, help="warm-up fraction of the steps"
    )
    train.add_argument("--lists-per-batch", type=_flag("lists_per_batch"), default=2)
    train.add_argument("--max-length", type=_flag("max_length"), default=128)
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto (bf16 where native, else float32), float32, bf16, fp16 (CUDA)",
    )
    train.add_argument(
        "--no-bf16",
        dest="precision",
        action="store_const",
        const="float32",
        help="alias of --precision float32",
    )
    train.add_argument("--seed", type=_flag("seed"), default=13)
    train.add_argument(
        "--save-steps",
        type=_flag("save_steps"),
        default=100,
        help="checkpoint every N steps (resume after a kill)",
    )
    train.add_argument("--device", default=None)
    add_data_root_argument(train)
    train.set_defaults(handler=handle_train)


def handle_train(args: argparse.Namespace) -> None:
    from rankdistill.data import open_dataset
    from rankdistill.training.teacher import train_cross_encoder

    config = TeacherTrainingConfig(
        base_model=args.base,
        retrievers=tuple(args.retriever or ["bm25"]),
        negatives=args.negatives,
        positives=args.positives,
        retrieved_positives=args.retrieved_positives,
        skip_top=args.skip_top,
        depth=args.depth,
        epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        warmup_ratio=args.warmup,
        lists_per_batch=args.lists_per_batch,
        max_length=args.max_length,
        precision=args.precision,
        seed=args.seed,
        save_steps=args.save_steps,
    )
    dataset = open_dataset(args.dataset, args.split, args.data_root)
    output = train_cross_encoder(dataset, args.output, config, device=args.device)
    print(f"trained cross-encoder teacher: {output} (use it as --teacher cross-encoder:{output})")

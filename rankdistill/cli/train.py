"""`rankdistill train --config`: distil a training set into a student (YAML config)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a student of any family from a YAML config (dense, sparse, cross-encoder, query-side, embeddings)",
    )
    train.add_argument("--config", required=True, help="path to a configs/train-*.yaml file")
    train.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.training import load_train_config

    config = load_train_config(args.config)
    from rankdistill.training.families import train_student

    # teacher targets and a query-side student's corpus vectors are cached under <output_dir>/encodings
    result = train_student(
        config, encodings=Path(config.output_dir) / "encodings", source=str(args.config)
    )
    if result.student is None:
        return  # not rank 0 of a distributed run
    metrics = result.record.get("dev", {}).get("metrics", {})
    shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.endswith("ndcg@10"))
    print(f"trained student: {result.student}" + (f" (dev: {shown})" if shown else ""))

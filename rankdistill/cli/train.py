"""`rankdistill train --config`: distil a training set into a student (YAML config)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train", help="distil a training set into a dense or sparse student (YAML config)"
    )
    train.add_argument("--config", required=True, help="path to a configs/train-*.yaml file")
    train.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.training import load_train_config

    config = load_train_config(args.config)
    if (
        config.student.distill == "embeddings"
    ):  # the teacher's targets are encoded under <output_dir>/encodings
        from rankdistill.pipeline.embeddings import train_embedding_student

        result = train_embedding_student(
            config, Path(config.output_dir) / "encodings", source=str(args.config)
        )
    else:
        from rankdistill.training.train import train

        result = train(config, source=str(args.config))
    if result.student is None:
        return  # not rank 0 of a distributed run
    metrics = result.record.get("dev", {}).get("metrics", {})
    shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.endswith("ndcg@10"))
    print(f"trained student: {result.student}" + (f" (dev: {shown})" if shown else ""))

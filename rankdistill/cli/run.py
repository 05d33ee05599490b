"""`rankdistill run CONFIG`: the whole loop as cached stages, then its table."""

from __future__ import annotations

import argparse

from rankdistill.core.hardware import PRECISIONS
from rankdistill.retrieval.encode import ENGINES

STAGES = ("teacher_train", "mine", "train", "index", "evaluate")


def add_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run the job a YAML config describes")
    run.add_argument("config", help="path to a configs/*.yaml file")
    run.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="override every model's precision in the config (auto, float32, bf16, fp16)",
    )
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="where corpus encoding, candidate retrieval and teacher scoring run, overriding the "
        "config's `engine` "
        "(ray: Ray Data pipelines on RAY_ADDRESS or a local Ray; pip install rankdistill[ray])",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="refuse to train on queries that are evaluation queries (by id or text); default: warn",
    )
    run.add_argument(
        "--rerun",
        action="append",
        choices=STAGES,
        help="run this stage again even if cached; repeatable",
    )
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.core.distributed import Shard
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.run import run_pipeline

    config = load_pipeline_config(args.config)
    if args.engine:
        config.engine = args.engine
    outcomes = run_pipeline(
        config,
        args.config,
        force=set(args.rerun or []),
        precision=args.precision,
        strict=args.strict,
    )
    if not Shard.from_env().is_main:
        return  # rank 0 prints the table
    run_dir = config.run_dir()
    print((run_dir / "stages" / "evaluate" / "results.md").read_text(encoding="utf-8").rstrip())
    print(
        "\n"
        + ", ".join(f"{o.name} {'cached' if o.cached else f'{o.seconds:.0f} s'}" for o in outcomes)
        + (
            f"; peak memory {max(o.peak_rss_mb for o in outcomes) / 1024:.2f} GB"
            if any(o.peak_rss_mb for o in outcomes)
            else ""
        )
    )
    print(f"report: {run_dir / 'report.md'}")

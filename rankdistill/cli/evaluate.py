"""`rankdistill evaluate`: retrievers and built indexes on BEIR datasets."""

from __future__ import annotations

import argparse
from pathlib import Path

from rankdistill.cli.common import add_encoding_arguments, encoding_settings
from rankdistill.core.config import EvaluateConfig, flag_type
from rankdistill.core.errors import UserError


def add_parser(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser("evaluate", help="evaluate retrievers on a BEIR dataset")
    evaluate.add_argument(
        "--dataset",
        action="append",
        required=True,
        help="name (scifact, nfcorpus, arguana, msmarco-trec-dl) or BEIR folder; repeatable",
    )
    evaluate.add_argument(
        "--split", default=None, help="qrels split (default: the dataset's test split)"
    )
    evaluate.add_argument(
        "--retriever",
        action="append",
        default=[],
        help="bm25 | dense:MODEL | sparse:MODEL; repeatable",
    )
    evaluate.add_argument(
        "--index",
        action="append",
        default=[],
        help="a built index folder (rankdistill index build); repeatable",
    )
    evaluate.add_argument(
        "--params",
        default=None,
        help="search settings for --index, e.g. nprobe=64 (default: the index's)",
    )
    evaluate.add_argument(
        "--output", default=None, help="folder for metrics.json, run.trec and results.md"
    )
    evaluate.add_argument(
        "--k", type=flag_type(EvaluateConfig, "k"), default=100, help="hits per query (default 100)"
    )
    add_encoding_arguments(evaluate, "dense and sparse retrievers")
    evaluate.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.core.distributed import Shard
    from rankdistill.evaluation import evaluate_many, format_table

    if not args.retriever and not args.index:
        raise UserError("evaluate: give at least one --retriever or --index")
    shard = Shard.from_env()  # under torchrun the ranks split the queries; rank 0 writes
    output = Path(args.output) if args.output else None
    evaluations = (
        evaluate_many(
            args.dataset,
            args.retriever,
            args.split,
            output,
            args.k,
            encoding_settings(args),
            args.data_root,
            shard,
        )
        if args.retriever
        else []
    )
    if args.index:
        from rankdistill.evaluation.indexes import evaluate_indexes

        evaluations += evaluate_indexes(
            args.dataset,
            args.index,
            args.split,
            output,
            args.k,
            args.batch_size,
            args.device,
            args.data_root,
            args.params,
            earlier=evaluations,
            shard=shard,
        )
    if not shard.is_main:
        return
    print(format_table(evaluations))
    if args.output:
        print(f"\nwrote {args.output}/results.md, metrics.json and run.trec per retriever")

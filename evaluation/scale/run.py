"""Run the scale benchmark: every stage at every corpus size, each in a process of its own.

    python evaluation/scale/run.py --sizes 10000 100000 1000000 \
        --out evaluation/scale/results/NAME.jsonl [--work /work/scale_data] [--stages ...]

What: builds (or reuses) one synthetic corpus a size under WORK (make_corpus.py; reused when its
scale.json says it has that size, seed and query count), then runs stage.py once for each stage
and size, in order of size, so a stopped run has whole curves for the smaller sizes. The store
stage's size is its pair count (--pairs, default 1M and 10M), not a corpus. A stage with a
`max_size` in stage.STAGES (encode: 30,000) runs at the sizes up to it, and once more over the
first max_size documents of the next larger corpus; report.py extrapolates the rest.

Why a process each: a stage's peak RSS is its own only in a process of its own. Why resume: the
1M-document stages take long on 2 shared cores; a (stage, size) already in --out with status "ok"
is skipped, and a failed stage (an error, a kill, the --timeout) is recorded as "failed" and
tried again next time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from make_corpus import read_sidecar
from stage import STAGES, append_record
from tqdm.auto import tqdm

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_WORK = Path("/work/scale_data")


@dataclass(frozen=True)
class Job:
    """One stage.py run: the size its record will carry, the folder it reads, extra options."""

    stage: str
    size: int
    data_dir: Path
    options: tuple[str, ...] = ()
    corpus_size: int | None = None  # the corpus it needs built first (None: no corpus)

    @property
    def key(self) -> tuple[str, int]:
        return self.stage, self.size


def corpus_dir(work: Path, size: int) -> Path:
    return work / f"synthetic-{size}"


def corpus_jobs(name: str, sizes: list[int], work: Path) -> list[Job]:
    """The jobs of a corpus stage: each size up to its max_size, and max_size itself from the
    next larger corpus (with --limit) when that is not one of the sizes."""
    limit = STAGES[name].max_size
    jobs = []
    for size in sorted(sizes):
        if limit is None or size <= limit:
            jobs.append(Job(name, size, corpus_dir(work, size), corpus_size=size))
        elif limit not in sizes:
            options = ("--limit", str(limit))
            jobs.append(Job(name, limit, corpus_dir(work, size), options, corpus_size=size))
            break
        else:
            break
    return jobs


def plan(stages: list[str], sizes: list[int], pairs: list[int], work: Path) -> list[Job]:
    """Every job, by size, in the stage table's order within a size (bm25 before evaluate,
    index_build before search)."""
    jobs: list[Job] = []
    for name in stages:
        if STAGES[name].needs_corpus:
            jobs.extend(corpus_jobs(name, sizes, work))
        else:
            jobs.extend(Job(name, n, work / name, ("--pairs", str(n))) for n in pairs)
    order = list(STAGES)
    return sorted(jobs, key=lambda job: (job.size, order.index(job.stage)))


def finished(out: Path) -> set[tuple[str, int]]:
    """(stage, size) of every record with status ok in `out`."""
    if not out.is_file():
        return set()
    done = set()
    for line in out.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("status") == "ok":
                done.add((record["stage"], int(record["size"])))
    return done


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def ensure_corpus(size: int, work: Path, seed: int, queries: int) -> str | None:
    """Build the corpus of `size` documents unless a complete one of the same making is there;
    returns make_corpus.py's summary line when it built one."""
    folder = corpus_dir(work, size)
    made = read_sidecar(folder)
    wanted = {"documents": size, "seed": seed, "queries": min(queries, size)}
    if made is not None and all(made.get(key) == value for key, value in wanted.items()):
        return None
    command = [sys.executable, str(HERE / "make_corpus.py"), str(size), str(folder)]
    command += ["--seed", str(seed), "--queries", str(min(queries, size))]
    done = subprocess.run(command, env=child_env(), capture_output=True, text=True, check=True)
    return done.stdout.strip()


def run_job(job: Job, out: Path, seed: int, timeout: float | None) -> tuple[bool, str]:
    """Run one stage.py process; on failure record it in `out`. Returns (ok, what it printed)."""
    command = [sys.executable, str(HERE / "stage.py"), job.stage, str(job.data_dir)]
    command += ["--out", str(out), "--seed", str(seed), *job.options]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, env=child_env(), capture_output=True, text=True, timeout=timeout
        )
        rc, output = done.returncode, (done.stdout + done.stderr).strip()
    except subprocess.TimeoutExpired as expired:
        rc, output = None, f"timed out after {timeout} s\n{expired.stderr or ''}"
    if rc == 0:
        return True, output.splitlines()[-1] if output else ""
    append_record(out, failure(job, rc, output, time.perf_counter() - started))
    return False, f"{job.stage} at {job.size}: FAILED (rc {rc}): {output[-500:]}"


def failure(job: Job, rc: int | None, output: str, seconds: float) -> dict[str, Any]:
    return {
        "stage": job.stage,
        "size": job.size,
        "unit": STAGES[job.stage].unit,
        "status": "failed",
        "rc": rc,
        "elapsed_s": round(seconds, 1),
        "output_tail": output[-2000:],
        "options": list(job.options),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--pairs", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="corpora and stage files")
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=None, help="seconds a stage may take")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work = args.work.resolve()
    done = finished(args.out)
    jobs = [job for job in plan(args.stages, args.sizes, args.pairs, work) if job.key not in done]
    if args.dry_run:
        for job in jobs:
            print(job.stage, job.size, job.data_dir, *job.options)
        return
    failed = 0
    with tqdm(jobs, unit="stage", desc="scale benchmark") as bar:
        for job in bar:
            bar.set_postfix_str(f"{job.stage} @ {job.size:,}")
            if job.corpus_size is not None:
                built = ensure_corpus(job.corpus_size, work, args.seed, args.queries)
                if built:
                    tqdm.write(built)
            ok, line = run_job(job, args.out, args.seed, args.timeout)
            failed += not ok
            tqdm.write(line)
    print(f"{len(jobs) - failed} of {len(jobs)} stage runs recorded in {args.out}")


if __name__ == "__main__":
    main()

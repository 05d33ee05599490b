"""Run one stage of the scale benchmark in this process and append its cost as one JSON line.

    python evaluation/scale/stage.py STAGE DATA_DIR --out RESULT.jsonl [options]

What: STAGE (a key of STAGES) runs once over DATA_DIR, a BEIR folder from make_corpus.py, through
rankdistill's own code for that stage. The line records the wall time of the stage's work
(`wall_s`; reading its inputs and writing its outputs are timed apart, in `phases`), the
process's peak RSS (getrusage's ru_maxrss) absolute and over the RSS reached after the stage's
imports, the CPU, the commit and the uncommitted changes under rankdistill/, and the stage's own
counts. Why one stage a process: ru_maxrss never goes down, so a stage's peak is its own only in a
process of its own (run.py starts one per stage and size). Sizes in GB are 10^9 bytes.

Stages (the rankdistill entry point each uses):

    load         data.open.open_dataset(DATA_DIR, "test"), then every document's "title text"
    bm25         retrieval.bm25.BM25Retriever: index the corpus, search the queries top-k (the
                 first stage of mining); the run is saved to WORK/bm25.trec for `evaluate`
    bm25_teacher teachers.bm25.BM25Teacher over the corpus's texts (data.open.corpus_texts, read
                 when indexed), then the top 10 of each query's WORK/bm25.trec (random documents
                 when bm25 has not run) scored: the BM25 member of a mining teacher
    evaluate     metrics.read_trec_run + metrics.evaluate_run on WORK/bm25.trec against
                 qrels/test.tsv (a random run of k hits a query when bm25 has not run)
    store        store.score_store.ScoreStore: put --pairs synthetic scores (one shard every
                 --flush-every pairs, as ScoreStore.score_pairs flushes), open the store again
                 (every shard read back) and get every pair; independent of the corpus
    index_build  indexes.structures.build_structure with spec "Flat" over random unit float32
                 vectors (one per document, from a .npy opened with mmap_mode="r"), then save.
                 This is what indexes.build.build_index runs after encoding; build_index itself
                 takes only a model and a dataset (it encodes), so the vectors enter here instead
    search       indexes.structures.load_structure of that index, 1000 random unit queries, top-k
    encode       retrieval.encode.load_encoder + encode_chunks (the `index build` encoding path:
                 all-MiniLM-L6-v2 from the offline catalogue, max length 256, chunks on disk) over
                 the first --limit documents; run at small sizes only and extrapolated

To add a stage (query_side, say): write `def stage_query_side(options, phases) -> Counts` beside
the others and add one line to STAGES; run.py and report.py take every stage from that table.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
GB = 1e9
BM25_RUN = "bm25.trec"
STORE_FINGERPRINT = "scale-benchmark"
PAIRS_PER_QUERY = 100  # store pairs: 100 documents a query, as mining's depth-100 candidates
GET_BATCH = 100_000  # pairs asked of the store at once when reading back
VECTOR_CHUNK = 65_536  # rows a vector chunk holds (Chunks.from_array's default)

Counts = dict[str, Any]


@dataclass(frozen=True)
class Options:
    """What a stage may use; every field comes from a command-line option."""

    data_dir: Path
    work: Path  # where a stage writes (vectors, index, run, store); shared between stages
    k: int = 100
    pairs: int = 1_000_000
    flush_every: int = 4096
    limit: int | None = None
    search_queries: int = 1000
    dimension: int = 384
    spec: str = "Flat"
    model: str = "all-MiniLM-L6-v2"
    max_length: int = 256
    batch_size: int = 32
    seed: int = 13


@dataclass
class Phases:
    """Wall time and RSS after each named phase of a stage. Phases with timed=False (reading
    inputs, making synthetic inputs, saving outputs for another stage) stay out of wall_s."""

    seconds: dict[str, float] = field(default_factory=dict)
    untimed: set[str] = field(default_factory=set)
    rss_gb: dict[str, float] = field(default_factory=dict)
    anon_gb: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str, timed: bool = True) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
            self.rss_gb[name] = current_rss_gb()
            self.anon_gb[name] = current_rss_gb("RssAnon")
            if not timed:
                self.untimed.add(name)

    def wall(self) -> float:
        return sum(s for name, s in self.seconds.items() if name not in self.untimed)

    def setup(self) -> float:
        return sum(s for name, s in self.seconds.items() if name in self.untimed)

    def record(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "s": round(seconds, 3),
                "timed": name not in self.untimed,
                "rss_gb": round(self.rss_gb[name], 3),
                "anon_gb": round(self.anon_gb[name], 3),
            }
            for name, seconds in self.seconds.items()
        }


StageRun = Callable[[Options, Phases], Counts]


@dataclass(frozen=True)
class Stage:
    """One row of the stage table: its function, the modules imported (and `prepare`, run) before
    the post-import RSS baseline, what its size counts, and the largest size run.py runs it at
    (None: every size; above it, run.py runs it once with --limit max_size and report.py
    extrapolates)."""

    run: StageRun
    imports: tuple[str, ...]
    prepare: Callable[[], object] | None = None
    unit: str = "documents"
    max_size: int | None = None
    needs_corpus: bool = True


def peak_rss_gb() -> float:
    """This process's peak resident set so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB


def current_rss_gb(field: str = "VmRSS") -> float:
    """The process's resident memory now (VmRSS), or its anonymous part alone (RssAnon: without
    file pages, such as a memory-mapped corpus or vectors file)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / GB
    return float("nan")


def cpu_record() -> dict[str, Any]:
    """The CPU model, whether it has native bf16 (avx512_bf16, amx_bf16) and the cores usable."""
    model, flags = "", set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return {
        "model": model,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "cpus": len(os.sched_getaffinity(0)),
    }


def git_state() -> dict[str, Any]:
    """rankdistill's commit, and the files under rankdistill/ that differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
        return done.stdout if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "rankdistill").splitlines()
    return {"commit": git("rev-parse", "HEAD").strip() or None, "rankdistill_changes": changed}


def corpus_size(data_dir: Path) -> int:
    """Documents in DATA_DIR: from make_corpus.py's scale.json, else by counting lines."""
    sidecar = data_dir / "scale.json"
    if sidecar.is_file():
        return int(json.loads(sidecar.read_text(encoding="utf-8"))["documents"])
    with (data_dir / "corpus.jsonl").open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def unit_vectors(count: int, dimension: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((count, dimension), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def corpus_vectors(options: Options, count: int) -> Path:
    """WORK/vectors-COUNTxD-sSEED.npy: `count` random unit vectors, written chunk by chunk (and
    reused when already there), so the benchmark itself never holds them all."""
    path = options.work / f"vectors-{count}x{options.dimension}-s{options.seed}.npy"
    if path.is_file():
        return path
    options.work.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rng = np.random.default_rng([options.seed, 0])
    array = np.lib.format.open_memmap(
        partial, mode="w+", dtype=np.float32, shape=(count, options.dimension)
    )
    for start in range(0, count, VECTOR_CHUNK):
        end = min(start + VECTOR_CHUNK, count)
        array[start:end] = unit_vectors(end - start, options.dimension, rng)
    array.flush()
    del array
    partial.rename(path)
    return path


def query_vectors(options: Options) -> np.ndarray:
    return unit_vectors(
        options.search_queries, options.dimension, np.random.default_rng([options.seed, 1])
    )


def index_folder(options: Options) -> Path:
    return options.work / f"index-{options.spec.replace('/', '_')}"


def import_index_kinds() -> object:
    """rankdistill.indexes imports every index kind's module (torch and sentence-transformers
    with them) the first time a kind is looked up: done before the baseline, not in the build."""
    from rankdistill.indexes.registry import index_kinds

    return index_kinds()


def stage_load(options: Options, phases: Phases) -> Counts:
    from rankdistill.data.beir import join_title_text
    from rankdistill.data.open import open_dataset

    with phases("open"):
        dataset = open_dataset(options.data_dir, "test")
    with phases("touch"):
        corpus = dataset.corpus
        characters = sum(len(join_title_text(corpus[doc_id])) for doc_id in corpus)
    return {
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "judgements": sum(len(docs) for docs in dataset.qrels.values()),
        "characters": characters,
        "corpus_type": type(dataset.corpus).__name__,
    }


def stage_bm25(options: Options, phases: Phases) -> Counts:
    from rankdistill.data.open import open_dataset
    from rankdistill.metrics import write_trec_run
    from rankdistill.retrieval.bm25 import BM25Retriever

    with phases("read", timed=False):
        dataset = open_dataset(options.data_dir, "test")
    retriever = BM25Retriever()
    with phases("index"):
        retriever.index(dataset.corpus)
    with phases("search"):
        results = retriever.search(dataset.queries, options.k)
    with phases("save_run", timed=False):
        options.work.mkdir(parents=True, exist_ok=True)
        write_trec_run(results, options.work / BM25_RUN, tag="bm25")
    found = sum(
        any(doc_id in results.get(query_id, {}) for doc_id in judged)
        for query_id, judged in dataset.qrels.items()
    )
    return {
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "vocabulary": len(retriever.model.vocab_dict) if retriever.model else 0,
        "hits": sum(len(hits) for hits in results.values()),
        "judged_in_top_k": round(found / max(1, len(dataset.qrels)), 4),
        "k": options.k,
    }


def stage_bm25_teacher(options: Options, phases: Phases) -> Counts:
    from rankdistill.data.open import corpus_texts, open_dataset
    from rankdistill.metrics import read_trec_run
    from rankdistill.teachers import build_teacher

    with phases("read", timed=False):
        dataset = open_dataset(options.data_dir, "test")
        doc_ids, texts, _ = corpus_texts(dataset)
        run_path = options.work / BM25_RUN
        hits = (
            read_trec_run(run_path)
            if run_path.is_file()
            else random_run(options, list(dataset.queries))
        )
        row = {doc_id: i for i, doc_id in enumerate(doc_ids)}
        pairs = [
            (dataset.queries[q], row[d])
            for q, ranked in hits.items()
            for d in sorted(ranked, key=lambda d: -ranked[d])[:10]
        ]
    with phases("build"):
        teacher = build_teacher("bm25", texts)
    with phases("score"):
        scores = teacher.score([q for q, _ in pairs], [texts[i] for _, i in pairs])
    return {
        "documents": len(doc_ids),
        "queries": len(hits),
        "pairs": len(pairs),
        "scored_above_0": round(float((scores > 0).mean()), 4),
    }


def random_run(options: Options, query_ids: list[str]) -> dict[str, dict[str, float]]:
    """k distinct random documents a query, scored k..1: the run `evaluate` scores when the bm25
    stage left none."""
    from rankdistill.data.open import open_corpus

    corpus, _ = open_corpus(str(options.data_dir))
    doc_ids = list(corpus)
    rng = np.random.default_rng([options.seed, 2])
    k = min(options.k, len(doc_ids))
    return {
        query_id: {
            doc_ids[row]: float(k - rank)
            for rank, row in enumerate(rng.choice(len(doc_ids), k, replace=False))
        }
        for query_id in query_ids
    }


def stage_evaluate(options: Options, phases: Phases) -> Counts:
    from rankdistill.data.beir import load_qrels, load_queries
    from rankdistill.metrics import evaluate_run, read_trec_run, write_trec_run

    run_path = options.work / BM25_RUN
    source = "bm25"
    if not run_path.is_file():
        with phases("make_run", timed=False):
            queries = load_queries(options.data_dir / "queries.jsonl")
            run_path = options.work / "random.trec"
            options.work.mkdir(parents=True, exist_ok=True)
            write_trec_run(random_run(options, list(queries)), run_path, tag="random")
            source = "random"
    with phases("read"):
        queries = load_queries(options.data_dir / "queries.jsonl")
        qrels = load_qrels(options.data_dir / "qrels" / "test.tsv", queries)
        results = read_trec_run(run_path)
    with phases("score"):
        evaluation = evaluate_run(qrels, results)
    return {
        "queries": evaluation.num_queries,
        "run": source,
        "run_rows": sum(len(hits) for hits in results.values()),
        **{name: round(value, 4) for name, value in evaluation.aggregate.items()},
    }


def store_pairs(start: int, end: int) -> tuple[list[str], list[str], np.ndarray]:
    """Pairs start..end-1: query `query {i // 100}`, document `doc {i}`, score from i."""
    queries = [f"query {i // PAIRS_PER_QUERY}" for i in range(start, end)]
    docs = [f"doc {i}" for i in range(start, end)]
    return queries, docs, (np.arange(start, end) % 1000).astype(np.float32) / 1000


def stage_store(options: Options, phases: Phases) -> Counts:
    from rankdistill.store.score_store import ScoreStore

    root = options.work / "store"
    with phases("clear", timed=False):
        shutil.rmtree(root, ignore_errors=True)
    store = ScoreStore(root, STORE_FINGERPRINT, {"benchmark": "evaluation/scale/stage.py"})
    with phases("put"):
        for start in range(0, options.pairs, options.flush_every):
            store.put_many(*store_pairs(start, min(start + options.flush_every, options.pairs)))
    stats = store.stats()
    del store
    gc.collect()
    with phases("open"):
        store = ScoreStore(root, STORE_FINGERPRINT)
    missing = wrong = 0
    with phases("get"):
        for start in range(0, options.pairs, GET_BATCH):
            queries, docs, expected = store_pairs(start, min(start + GET_BATCH, options.pairs))
            scores, found = store.get_many(queries, docs)
            missing += int((~found).sum())
            wrong += int((scores[found] != expected[found]).sum())
    return {
        "size": options.pairs,
        "pairs": options.pairs,
        "queries": -(-options.pairs // PAIRS_PER_QUERY),
        "flush_every": options.flush_every,
        "shards": stats["shards"],
        "bytes_on_disk": stats["bytes"],
        "pairs_held_after_open": len(store),
        "missing": missing,
        "wrong": wrong,
    }


def build_flat(options: Options, count: int, phases: Phases) -> Counts:
    """Build and save the index of `count` vectors (phases: vectors untimed, build, save)."""
    from rankdistill.indexes import parse_spec
    from rankdistill.indexes.structures import build_structure
    from rankdistill.retrieval.encode import Chunks

    with phases("vectors", timed=False):
        vectors = np.load(corpus_vectors(options, count), mmap_mode="r")
    spec = parse_spec(options.spec)
    with phases("build"):
        structure, timings = build_structure(
            spec,
            Chunks.from_array(vectors, VECTOR_CHUNK),
            options.dimension,
            seed=options.seed,
        )
    folder = index_folder(options)
    with phases("save"):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        names = structure.save(folder)
    return {
        "vectors": structure.count,
        "dimension": options.dimension,
        "spec": options.spec,
        "index_bytes": sum((folder / name).stat().st_size for name in names),
        **{f"faiss_{key}": round(value, 3) for key, value in timings.items()},
    }


def stage_index_build(options: Options, phases: Phases) -> Counts:
    return build_flat(options, corpus_size(options.data_dir), phases)


def stage_search(options: Options, phases: Phases) -> Counts:
    from rankdistill.indexes import parse_spec
    from rankdistill.indexes.structures import load_structure

    count = corpus_size(options.data_dir)
    folder = index_folder(options)
    if not any(folder.glob("*.faiss")):
        with phases("build_index", timed=False):
            build_flat(options, count, Phases())
    spec = parse_spec(options.spec)
    with phases("open", timed=False):
        structure = load_structure(spec, folder)
    queries = query_vectors(options)
    with phases("search"):
        scores, indices = structure.search(queries, options.k)
    return {
        "vectors": structure.count,
        "queries": len(queries),
        "k": options.k,
        "spec": options.spec,
        "padded": int((indices < 0).sum()),
    }


def stage_encode(options: Options, phases: Phases) -> Counts:
    import torch

    from rankdistill.core.hardware import configure_threads
    from rankdistill.data.open import corpus_texts
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.encode import corpus_hash, encode_chunks, load_encoder

    threads = configure_threads()
    settings = EncodingSettings(options.batch_size, options.max_length, backend="auto")
    with phases("model", timed=False):
        encoder = load_encoder(options.model, False, settings)
    with phases("read", timed=False):
        doc_ids, texts, _ = corpus_texts(str(options.data_dir))
        total = len(doc_ids)
        count = total if options.limit is None else min(options.limit, total)
        doc_ids, texts = doc_ids[:count], list(texts[:count])
    folder = options.work / "encode-chunks"
    shutil.rmtree(folder, ignore_errors=True)  # a leftover encoding would be reused, not timed
    with phases("encode"):
        chunks = encode_chunks(
            encoder,
            texts,
            folder,
            4096,
            {"corpus_sha256": corpus_hash(doc_ids, texts)},
            progress=False,
        )
    seconds = phases.seconds["encode"]
    return {
        "size": count,
        "documents": total,
        "encoded": chunks.count(),
        "docs_per_s": round(count / seconds, 2),
        "extrapolated_1m_s": round(1_000_000 * seconds / count, 1),
        "model": options.model,
        "max_length": encoder.max_length,
        "batch_size": options.batch_size,
        "precision": encoder.precision,
        "backend": encoder.backend,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
    }


STAGES: dict[str, Stage] = {
    "load": Stage(stage_load, ("rankdistill.data.open",)),
    "bm25": Stage(
        stage_bm25, ("rankdistill.data.open", "rankdistill.metrics", "rankdistill.retrieval.bm25")
    ),
    "evaluate": Stage(stage_evaluate, ("rankdistill.data.open", "rankdistill.metrics")),
    "bm25_teacher": Stage(
        stage_bm25_teacher,
        ("rankdistill.data.open", "rankdistill.metrics", "rankdistill.teachers.bm25"),
    ),
    "store": Stage(
        stage_store, ("rankdistill.store.score_store",), unit="pairs", needs_corpus=False
    ),
    "index_build": Stage(stage_index_build, ("rankdistill.indexes",), import_index_kinds),
    "search": Stage(stage_search, ("rankdistill.indexes",), import_index_kinds),
    "encode": Stage(
        stage_encode,
        ("torch", "sentence_transformers", "rankdistill.retrieval.encode", "rankdistill.data.open"),
        max_size=30_000,
    ),
    # query_side: add `def stage_query_side(options, phases) -> Counts` and its row here.
}


def measure(name: str, options: Options) -> dict[str, Any]:
    """Run stage `name` in this process; its record (see the module docstring)."""
    stage = STAGES[name]
    for module in stage.imports:
        importlib.import_module(module)
    if stage.prepare is not None:
        stage.prepare()
    baseline = peak_rss_gb()
    load_average = os.getloadavg()
    phases = Phases()
    counts = stage.run(options, phases)
    peak = peak_rss_gb()
    documents = counts.get("documents")
    if documents is None and stage.needs_corpus:
        documents = corpus_size(options.data_dir)
    return {
        "stage": name,
        "size": counts.pop("size", documents),
        "unit": stage.unit,
        "documents": documents,
        "queries": counts.get("queries"),
        "status": "ok",
        "wall_s": round(phases.wall(), 3),
        "setup_s": round(phases.setup(), 3),
        "phases": phases.record(),
        "peak_rss_gb": round(peak, 4),
        "peak_rss_over_baseline_gb": round(peak - baseline, 4),
        "baseline_rss_gb": round(baseline, 4),
        "cpu": cpu_record(),
        "load_average_at_start": [round(x, 2) for x in load_average],
        **git_state(),
        "data_dir": str(options.data_dir),
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "extra": counts,
    }


def append_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def parse_args(argv: list[str] | None = None) -> tuple[str, Options, Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=list(STAGES))
    parser.add_argument("data_dir", type=Path, help="a BEIR folder (store: only names WORK)")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines file to append to")
    parser.add_argument("--work", type=Path, default=None, help="default: DATA_DIR-work beside it")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=1_000_000, help="store: pairs to write")
    parser.add_argument("--flush-every", type=int, default=4096, help="store: pairs a shard")
    parser.add_argument("--limit", type=int, default=None, help="encode: first N documents")
    parser.add_argument("--search-queries", type=int, default=1000)
    parser.add_argument("--dimension", type=int, default=384, help="index stages' vectors")
    parser.add_argument("--spec", default="Flat")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    work = args.work or data_dir.with_name(f"{data_dir.name}-work")
    options = Options(
        data_dir,
        work,
        args.k,
        args.pairs,
        args.flush_every,
        args.limit,
        args.search_queries,
        args.dimension,
        args.spec,
        args.model,
        args.max_length,
        args.batch_size,
        args.seed,
    )
    return args.stage, options, args.out


def main(argv: list[str] | None = None) -> None:
    name, options, out = parse_args(argv)
    record = measure(name, options)
    append_record(out, record)
    print(
        f"{name} at {record['size']} {record['unit']}: {record['wall_s']:.2f} s "
        f"(+{record['setup_s']:.2f} s setup), peak RSS {record['peak_rss_gb']:.3f} GB "
        f"(+{record['peak_rss_over_baseline_gb']:.3f} over {record['baseline_rss_gb']:.3f} after "
        f"imports) -> {out}"
    )


if __name__ == "__main__":
    main()

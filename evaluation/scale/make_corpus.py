"""Build a synthetic BEIR folder of any size from real sentences, for the scale benchmark.

    python evaluation/scale/make_corpus.py SIZE OUT_DIR [--seed 13] [--queries 1000]

What: OUT_DIR gets corpus.jsonl (SIZE documents, ids d0000000...), queries.jsonl, qrels/test.tsv
(BEIR's header, one relevant document a query) and scale.json (how it was made, written last: its
presence means the folder is complete).

Why resample real text: the local corpora stop at about 10k documents, and the stages' costs
(tokenising, BM25 postings, encoding at max length 256) depend on document lengths and vocabulary,
which random strings would get wrong. So every sentence of the four offline corpora (scifact,
nfcorpus, arguana, msmarco-trec-dl-bm25top100; split by a simple regex) goes into one pool, cached
under --cache keyed by the source files; a synthetic document takes the sentence count of a
randomly drawn real document and fills it with sentences drawn uniformly from the pool, under a
randomly drawn real title (often empty). A query is a span of 6-14 consecutive words of one
sentence of a randomly drawn synthetic document, judged relevant (1) to it.

Caveat: with about 190k pooled sentences, a 1M-document corpus holds each sentence about 37 times,
so a query's words also occur in other documents than its judged one. The judgements make the
folder loadable and the evaluation stage realistic in size; they are no test of quality.

The corpus is streamed: documents are drawn and written in blocks of BLOCK, never all held
(1M documents are about 1 GB of text). Deterministic for a seed (numpy Generators, one stream for
the documents and one for the queries, so the documents do not depend on --queries).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("scifact", "nfcorpus", "arguana", "msmarco-trec-dl-bm25top100")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
POOL_VERSION = 1  # bump when the sentence split changes: the cache key includes it
BLOCK = 4096  # documents drawn per vectorised step; part of the seeded stream
MIN_SPAN, MAX_SPAN = 6, 14  # query length in words
SIDECAR = "scale.json"
ID_DIGITS = 7


@dataclass(frozen=True)
class Pool:
    """Every sentence of the source corpora, each real document's sentence count and title."""

    sentences: list[str]
    counts: np.ndarray  # sentences per real document with text, int64, all >= 1
    titles: list[str]  # one per real document, "" where it has none
    key: str  # sha256 over the source files and POOL_VERSION


def default_data_root() -> Path:
    """$RANKDISTILL_DATA, else ../shared/data beside the repository (as tests/conftest.py)."""
    return Path(os.environ.get("RANKDISTILL_DATA") or REPO.parent / "shared" / "data")


def default_cache() -> Path:
    """Where pools are cached: rankdistill's cache folder ($RANKDISTILL_CACHE)."""
    from rankdistill.core.paths import cache_dir

    return cache_dir() / "scale_pool"


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces (no newline survives, so a pool line is a sentence)."""
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    return [sentence for sentence in SENTENCE_END.split(normalise(text)) if sentence]


def source_files(data_root: Path) -> list[Path]:
    files = [data_root / name / "corpus.jsonl" for name in SOURCES]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"source corpora not found: {', '.join(missing)}")
    return files


def pool_key(files: list[Path]) -> str:
    """Names the cached pool: the files' paths, sizes and modification times, and POOL_VERSION."""
    digest = hashlib.sha256(f"pool v{POOL_VERSION}".encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def read_pool(files: list[Path], key: str) -> Pool:
    """Parse the source corpora into a pool (documents without sentences give no count)."""
    sentences: list[str] = []
    counts: list[int] = []
    titles: list[str] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                titles.append(normalise(record.get("title") or ""))
                found = split_sentences(record.get("text") or "")
                if found:
                    sentences.extend(found)
                    counts.append(len(found))
    return Pool(sentences, np.asarray(counts, dtype=np.int64), titles, key)


def save_pool(pool: Pool, folder: Path) -> None:
    """Write the pool into `folder` (through a temporary folder renamed last)."""
    temporary = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    (temporary / "sentences.txt").write_text("\n".join(pool.sentences), encoding="utf-8")
    (temporary / "titles.txt").write_text("\n".join(pool.titles), encoding="utf-8")
    np.save(temporary / "counts.npy", pool.counts)
    shutil.rmtree(folder, ignore_errors=True)
    temporary.rename(folder)


def read_saved_pool(folder: Path, key: str) -> Pool:
    sentences = (folder / "sentences.txt").read_text(encoding="utf-8").split("\n")
    titles = (folder / "titles.txt").read_text(encoding="utf-8").split("\n")
    return Pool(sentences, np.load(folder / "counts.npy"), titles, key)


def load_pool(data_root: Path, cache: Path) -> Pool:
    """The pool of the corpora under `data_root`, from `cache` when it was built before."""
    files = source_files(data_root)
    key = pool_key(files)
    folder = cache / f"pool-{key[:16]}"
    if (folder / "counts.npy").is_file():
        return read_saved_pool(folder, key)
    pool = read_pool(files, key)
    save_pool(pool, folder)
    return pool


def doc_id(row: int, size: int) -> str:
    return f"d{row:0{max(ID_DIGITS, len(str(size - 1)))}d}"


def query_id(row: int, count: int) -> str:
    return f"q{row:0{max(ID_DIGITS, len(str(count - 1)))}d}"


def draw_documents(
    pool: Pool, size: int, rng: np.random.Generator
) -> Iterator[tuple[str, list[int]]]:
    """(title, pool indices of its sentences) for each of `size` documents, in order, drawn
    BLOCK documents at a time."""
    for start in range(0, size, BLOCK):
        n = min(BLOCK, size - start)
        counts = pool.counts[rng.integers(0, len(pool.counts), n)]
        picks = rng.integers(0, len(pool.sentences), int(counts.sum()))
        titles = rng.integers(0, len(pool.titles), n)
        bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
        picks_list = picks.tolist()
        for row in range(n):
            yield pool.titles[titles[row]], picks_list[bounds[row] : bounds[row + 1]]


def query_span(sentences: list[str], rng: np.random.Generator) -> str:
    """6-14 consecutive words of one of `sentences` (one with at least 6 words where there is
    one, else the longest, whole)."""
    words = [sentence.split() for sentence in sentences]
    long_enough = [w for w in words if len(w) >= MIN_SPAN]
    if not long_enough:
        return " ".join(max(words, key=len))
    chosen = long_enough[int(rng.integers(len(long_enough)))]
    length = min(int(rng.integers(MIN_SPAN, MAX_SPAN + 1)), len(chosen))
    start = int(rng.integers(0, len(chosen) - length + 1))
    return " ".join(chosen[start : start + length])


def write_document(out: TextIO, identifier: str, title: str, text: str) -> int:
    line = json.dumps({"_id": identifier, "title": title, "text": text}, ensure_ascii=False)
    out.write(line + "\n")
    return len(text.split())


def write_corpus(pool: Pool, size: int, folder: Path, seed: int, queries: int) -> dict[str, Any]:
    """Stream SIZE documents into folder/corpus.jsonl, then the queries and judgements; returns
    what scale.json records."""
    if size < 1 or not 1 <= queries <= size:
        raise ValueError(f"need 1 <= queries <= size, got size {size}, queries {queries}")
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / SIDECAR).unlink(missing_ok=True)  # the folder is incomplete until it is rewritten
    doc_rng = np.random.default_rng([seed, 0])
    query_rng = np.random.default_rng([seed, 1])
    judged = np.sort(query_rng.choice(size, queries, replace=False)).tolist()
    spans: list[tuple[str, str]] = []  # (query text, judged doc id), in corpus order
    words = 0
    next_judged = 0
    with (folder / "corpus.jsonl").open("w", encoding="utf-8", newline="\n") as out:
        for row, (title, picks) in enumerate(draw_documents(pool, size, doc_rng)):
            sentences = [pool.sentences[i] for i in picks]
            identifier = doc_id(row, size)
            words += write_document(out, identifier, title, " ".join(sentences))
            if next_judged < queries and judged[next_judged] == row:
                spans.append((query_span(sentences, query_rng), identifier))
                next_judged += 1
    write_queries(folder, spans)
    return {
        "documents": size,
        "queries": queries,
        "seed": seed,
        "words": words,
        "corpus_bytes": (folder / "corpus.jsonl").stat().st_size,
        "pool": {
            "key": pool.key,
            "sentences": len(pool.sentences),
            "source_documents": len(pool.titles),
            "sources": list(SOURCES),
            "version": POOL_VERSION,
        },
        "generator": "evaluation/scale/make_corpus.py",
    }


def write_queries(folder: Path, spans: list[tuple[str, str]]) -> None:
    with (folder / "queries.jsonl").open("w", encoding="utf-8", newline="\n") as out:
        for row, (text, _) in enumerate(spans):
            record = {"_id": query_id(row, len(spans)), "text": text}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8", newline="\n") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for row, (_, judged_id) in enumerate(spans):
            out.write(f"{query_id(row, len(spans))}\t{judged_id}\t1\n")


def read_sidecar(folder: Path) -> dict[str, Any] | None:
    """scale.json of a complete folder, or None."""
    path = Path(folder) / SIDECAR
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def build(
    size: int,
    folder: Path,
    seed: int = 13,
    queries: int = 1000,
    data_root: Path | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    """Build the folder (see the module docstring) and write scale.json last; returns its record."""
    folder = Path(folder)
    pool = load_pool(data_root or default_data_root(), cache or default_cache())
    record = write_corpus(pool, size, folder, seed, queries)
    (folder / SIDECAR).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int, help="number of documents")
    parser.add_argument("out_dir", type=Path, help="the BEIR folder to write")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--data-root", type=Path, default=None, help="default: $RANKDISTILL_DATA")
    parser.add_argument("--cache", type=Path, default=None, help="pool cache folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    record = build(args.size, args.out_dir, args.seed, args.queries, args.data_root, args.cache)
    print(
        f"{args.out_dir}: {record['documents']} documents ({record['corpus_bytes'] / 1e6:.1f} MB, "
        f"{record['words'] / record['documents']:.1f} words each), {record['queries']} queries, "
        f"seed {record['seed']}, from {record['pool']['sentences']} sentences of "
        f"{record['pool']['source_documents']} real documents, in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()

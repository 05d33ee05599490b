"""Pseudo-queries for a corpus, written like training queries (GPL's first step).

    FOLDER/queries.jsonl          {"_id": "<doc id>#q<j>", "text": query}     BEIR queries
    FOLDER/qrels/generated.tsv    query-id  corpus-id  1                       the source map:
                                  each query's source document, in BEIR's qrels format
    FOLDER/generated.json         generator (canonical spec), seed, corpus, documents sampled,
                                  chunk size, counts, provenance(); written last
    FOLDER/chunks/NNNNN.json      the work, one chunk of `chunk_size` sampled documents a file

`data.open_with_queries(dataset, FOLDER, split="generated")` reads the folder back as a dataset
split whose judgements are the source map. A source document is only a candidate positive: the
mine stage keeps it only where the teacher agrees (`mining.build_training_set(accept_rank=...)`).

Documents: all of the corpus, or `documents` of them drawn with the seed (kept in corpus order).
They are cut into fixed chunks; each chunk is generated and written atomically on its own, so a
killed generation rerun with the same settings generates only the chunks that are missing, and
with several ranks (`Shard`) each rank generates its block of chunks (the chunking does not
depend on the number of ranks, so neither do the queries). A chunk made under other settings is
refused, never mixed in. A generator that makes an empty query is an InputError naming the
document (its corpus file and line); a document it has nothing for (an untitled one for `title`)
is skipped and counted. A query repeated for the same document is kept once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rankdistill.core.atomic import atomic_write, atomic_write_json
from rankdistill.core.distributed import Shard
from rankdistill.core.errors import InputError, UserError
from rankdistill.core.provenance import provenance
from rankdistill.data.beir import jsonl_records
from rankdistill.mining.generators import (
    Document,
    GeneratorSpec,
    build_generator,
    parse_generator_spec,
)

log = logging.getLogger(__name__)

SPLIT = "generated"  # the qrels split name of the source map
RECORD = "generated.json"
CHUNKS = "chunks"


@dataclass
class GeneratedQueries:
    folder: Path
    queries: int
    counts: dict[str, int]


def query_id(doc_id: str, j: int) -> str:
    return f"{doc_id}#q{j}"


def sample_documents(doc_ids: list[str], documents: int | None, seed: int) -> list[str]:
    """All of `doc_ids`, or `documents` of them drawn with `seed`, in their corpus order."""
    if documents is None or documents >= len(doc_ids):
        return list(doc_ids)
    picked = set(random.Random(f"rankdistill-sample:{seed}").sample(range(len(doc_ids)), documents))
    return [doc_id for i, doc_id in enumerate(doc_ids) if i in picked]


def generate_queries(
    corpus: dict[str, Document],
    source: str,
    generator: str | GeneratorSpec,
    folder: str | Path,
    *,
    documents: int | None = None,
    seed: int = 13,
    chunk_size: int = 256,
    shard: Shard | None = None,
) -> GeneratedQueries:
    """Generate (or finish generating) pseudo-queries for `corpus` (read from `source`, a BEIR
    folder or an `irds:` id, named in errors and the record) into `folder`, laid out as above."""
    spec = parse_generator_spec(generator) if isinstance(generator, str) else generator
    if chunk_size < 1:
        raise UserError(f"chunk size must be >= 1, got {chunk_size}")
    folder, shard = Path(folder), shard or Shard()
    sampled = sample_documents(list(corpus), documents, seed)
    settings = {
        "generator": spec.canonical,
        "seed": seed,
        "documents": documents,
        "sampled": len(sampled),
        "chunk_size": chunk_size,
        "sample_sha256": hashlib.sha256("\n".join(sampled).encode()).hexdigest(),
    }
    record = folder / RECORD
    if record.is_file():
        done = json.loads(record.read_text(encoding="utf-8"))
        if done.get("settings") == settings:
            return GeneratedQueries(folder, done["counts"]["queries"], done["counts"])
        raise UserError(
            f"{folder}: holds queries generated under other settings ({done.get('settings')}); choose another folder"
        )
    chunks = [sampled[i : i + chunk_size] for i in range(0, len(sampled), chunk_size)]
    mine = [
        i for i in shard.part(range(len(chunks))) if not _chunk_done(folder, i, chunks[i], settings)
    ]
    if mine:
        model = build_generator(spec, corpus, source)
        for i in mine:
            ids = chunks[i]
            made = model.generate([(doc_id, corpus[doc_id]) for doc_id in ids], seed)
            queries = _checked(ids, made, spec, source)
            atomic_write_json(
                folder / CHUNKS / f"{i:05d}.json",
                {"settings": settings, "chunk": i, "documents": ids, "queries": queries},
            )
            log.info(
                "generated chunk %d/%d: %d queries",
                i + 1,
                len(chunks),
                sum(len(q) for q in queries),
            )
    shard.barrier()
    counts = {
        "documents": len(sampled),
        "documents_skipped": 0,
        "queries": 0,
        "duplicates_dropped": 0,
    }
    if shard.is_main:
        merged: list[tuple[str, str, str]] = []
        for i, ids in enumerate(chunks):
            path = folder / CHUNKS / f"{i:05d}.json"
            chunk, problem = read_chunk(path)
            if chunk is None:
                raise UserError(f"{path}: {problem}; run again to generate it anew")
            for doc_id, queries in zip(ids, chunk["queries"]):
                unique = list(dict.fromkeys(queries))
                counts["duplicates_dropped"] += len(queries) - len(unique)
                counts["documents_skipped"] += not unique
                merged.extend((query_id(doc_id, j), doc_id, text) for j, text in enumerate(unique))
        counts["queries"] = len(merged)
        if not merged:
            raise UserError(
                f"{source}: generator {spec.canonical!r} made no query from the {len(sampled)} sampled documents"
            )
        write_generated(folder, merged)
        atomic_write_json(
            record,
            {"settings": settings, "source": source, "counts": counts, "provenance": provenance()},
        )
        log.info(
            "generated %d queries from %d documents with %s",
            counts["queries"],
            len(sampled),
            spec.canonical,
        )
    shard.barrier()
    done = json.loads(record.read_text(encoding="utf-8"))
    return GeneratedQueries(folder, done["counts"]["queries"], done["counts"])


def write_generated(folder: Path, queries: list[tuple[str, str, str]]) -> None:
    """queries.jsonl and qrels/generated.tsv from (query id, source doc id, text)."""

    def write_queries(handle: TextIO) -> None:
        for qid, _, text in queries:
            handle.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")

    def write_sources(handle: TextIO) -> None:
        handle.write("query-id\tcorpus-id\tscore\n")
        for qid, doc_id, _ in queries:
            handle.write(f"{qid}\t{doc_id}\t1\n")

    atomic_write(folder / "queries.jsonl", write_queries)
    atomic_write(folder / "qrels" / f"{SPLIT}.tsv", write_sources)


def read_chunk(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(a generated-query chunk, None), or (None, what is wrong with the file)."""
    try:
        chunk = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return None, f"unreadable ({type(error).__name__}: {error})"
    if not isinstance(chunk, dict) or not isinstance(chunk.get("documents"), list):
        return None, "not a generated-query chunk (no documents list)"
    queries = chunk.get("queries")
    if not isinstance(queries, list) or len(queries) != len(chunk["documents"]):
        return None, "its queries do not match its documents"
    if not all(isinstance(q, list) and all(isinstance(t, str) for t in q) for q in queries):
        return None, "a query that is not text"
    return chunk, None


def _chunk_done(folder: Path, i: int, ids: list[str], settings: dict[str, Any]) -> bool:
    path = folder / CHUNKS / f"{i:05d}.json"
    if not path.is_file():
        return False
    chunk, problem = read_chunk(path)
    if chunk is None:  # cut short or damaged: made again
        log.warning("%s: %s; generating the chunk again", path, problem)
        path.unlink()
        return False
    if chunk.get("settings") != settings or chunk.get("documents") != ids:
        raise UserError(
            f"{path}: a chunk generated under other settings ({chunk.get('settings')}); choose another folder"
        )
    return True


def _checked(
    ids: list[str], made: list[list[str]], spec: GeneratorSpec, source: str
) -> list[list[str]]:
    """The generator's queries, each stripped; an empty one is an InputError at its document."""
    if len(made) != len(ids):
        raise RuntimeError(
            f"generator {spec.canonical!r} returned {len(made)} lists for {len(ids)} documents"
        )
    checked = []
    for doc_id, queries in zip(ids, made):
        for j, text in enumerate(queries):
            if not text.strip():
                path, line = locate_document(source, doc_id)
                raise InputError(
                    path,
                    f"generator {spec.canonical!r} made an empty query (query {j + 1} of {len(queries)}) "
                    f"from document {doc_id!r}",
                    line,
                    "_id",
                )
        checked.append([" ".join(text.split()) for text in queries])
    return checked


def locate_document(source: str, doc_id: str) -> tuple[str, int | None]:
    """The corpus file and line of `doc_id` for an error message (the `irds:` id, no line, for
    ir_datasets corpora)."""
    path = Path(source) / "corpus.jsonl" if Path(source).is_dir() else Path(source)
    if not path.is_file():
        return source, None
    for line_no, record in jsonl_records(path):
        if str(record.get("_id")) == doc_id:
            return str(path), line_no
    return str(path), None

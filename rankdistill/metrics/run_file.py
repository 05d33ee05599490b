"""TREC run files: `qid Q0 docid rank score tag`, one hit per line, best first per query."""

from __future__ import annotations

import math
from pathlib import Path

from rankdistill.core.atomic import atomic_write
from rankdistill.core.errors import InputError
from rankdistill.core.textfile import text_lines
from rankdistill.retrieval.base import Results


def write_trec_run(results: Results, path: str | Path, tag: str = "rankdistill") -> Path:
    tag = tag.replace(" ", "_") or "rankdistill"

    def write(handle) -> None:
        for query_id, hits in results.items():
            ranked = sorted(hits.items(), key=lambda item: (-item[1], item[0]))
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                handle.write(f"{query_id} Q0 {doc_id} {rank} {score:.6f} {tag}\n")

    return atomic_write(path, write)


def read_trec_run(path: str | Path) -> Results:
    path = Path(path)
    results: Results = {}
    for line_no, line in text_lines(path):
        if not line.strip():
            continue
        columns = line.split()
        if len(columns) != 6:
            raise InputError(
                path,
                f"expected 6 columns (qid Q0 docid rank score tag), got {len(columns)}",
                line_no,
            )
        query_id, _, doc_id, _, score, _ = columns
        try:
            value = float(score)
        except ValueError:
            raise InputError(path, f"not a number: {score!r}", line_no, "score") from None
        if not math.isfinite(value):
            raise InputError(path, f"not finite: {score!r}", line_no, "score")
        results.setdefault(query_id, {})[doc_id] = value
    return results

"""TREC run files: `qid Q0 docid rank score tag`, one hit per line, best first per query.

`write_trec_run` also writes `<run>.size.json` beside the file (its rows and bytes): the format
cannot say it was cut short at a row end, so `read_trec_run` checks the file against it when it is
there (a run from elsewhere has none and is read as it is)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rankdistill.core.atomic import atomic_write, atomic_write_json
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

    written = atomic_write(path, write)
    rows = sum(len(hits) for hits in results.values())  # one line a hit
    atomic_write_json(size_path(written), {"rows": rows, "bytes": written.stat().st_size})
    return written


def size_path(path: str | Path) -> Path:
    return Path(f"{path}.size.json")


def check_size(path: Path, rows_read: int) -> None:
    """Refuse a run file whose rows (`rows_read`, as its reader counted them) or bytes differ from
    what its writer recorded beside it."""
    sidecar = size_path(path)
    if not sidecar.is_file():
        return
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8"))
        rows, size = int(recorded["rows"]), int(recorded["bytes"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise InputError(
            sidecar, f"damaged size record ({error}); delete it to read the run as it is"
        ) from None
    actual = path.stat().st_size
    if actual != size or rows_read != rows:
        raise InputError(
            path,
            f"{rows_read} rows and {actual} bytes, but its writer recorded {rows} rows and "
            f"{size} bytes ({sidecar.name}): the file was cut short or changed",
        )


def read_trec_run(path: str | Path) -> Results:
    """The hits of a TREC run file; an InputError names the file and line of a bad row, and of
    a last line cut short inside its tag (a file cut at a line end reads as a shorter run)."""
    path = Path(path)
    results: Results = {}
    tags: list[str] = []  # the tags of the last two rows
    line_no = row_line = rows = 0
    for line_no, line in text_lines(path):
        if not line.strip():
            continue
        rows += 1
        columns = line.split()
        if len(columns) != 6:
            raise InputError(
                path,
                f"expected 6 columns (qid Q0 docid rank score tag), got {len(columns)}",
                line_no,
            )
        query_id, _, doc_id, _, score, tag = columns
        tags, row_line = [*tags[-1:], tag], line_no
        try:
            value = float(score)
        except ValueError:
            raise InputError(path, f"not a number: {score!r}", line_no, "score") from None
        if not math.isfinite(value):
            raise InputError(path, f"not finite: {score!r}", line_no, "score")
        results.setdefault(query_id, {})[doc_id] = value
    if (
        row_line == line_no
        and len(tags) == 2
        and tags[1] != tags[0]
        and tags[0].startswith(tags[1])
        and not _ends_with_line_end(path)
    ):
        raise InputError(
            path,
            f"the last line stops inside its tag ({tags[1]!r} of {tags[0]!r}) without a line "
            "end: the file was cut short",
            line_no,
            "tag",
        )
    check_size(path, rows)  # after the rows: a bad row is named by its line first
    return results


def _ends_with_line_end(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"

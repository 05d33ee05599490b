"""The distillation training set: one JSON line per query, with a sidecar of how it was made.

    FILE.jsonl      {"query_id": str, "query": str,
                     "positives": [{"doc_id": str, "score": float, "relabelled": bool (optional)}],
                     "negatives": [{"doc_id": str, "score": float, "how": "top"|"random",
                                    "prob": float in (0, 1], "ranks": {retriever: int >= 1}}],
                     "teacher": fingerprint, "teacher_scale": "cosine" (optional)}
    FILE.jsonl.meta.json   the caller's meta (config, counts), the record count, provenance()

Scores are teacher scores; `teacher_scale` is the scale the teacher declared (`Teacher.score_scale`:
"cosine" scores lie in [-1, 1] and training puts them on the student's scale). A positive with "relabelled": true was sampled as a negative and
relabelled by false-negative control. Every record has at least one negative.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple, NoReturn

from rankdistill.core.atomic import atomic_write, atomic_write_json
from rankdistill.core.errors import InputError, UserError
from rankdistill.core.provenance import provenance
from rankdistill.data.beir import check_encodable, jsonl_records

HOWS = ("top", "random")


@dataclass
class Positive:
    doc_id: str
    score: float
    relabelled: bool = False


@dataclass
class Negative:
    doc_id: str
    score: float
    how: str
    prob: float
    ranks: dict[str, int] = field(default_factory=dict)


@dataclass
class TrainingRecord:
    query_id: str
    query: str
    positives: list[Positive]
    negatives: list[Negative]
    teacher: str
    teacher_scale: str | None = (
        None  # the teacher's declared score scale (rankdistill.teachers.base.SCALES)
    )

    def to_json(self) -> dict[str, Any]:
        positives = []
        for p in self.positives:
            entry: dict[str, Any] = {"doc_id": p.doc_id, "score": float(p.score)}
            if p.relabelled:
                entry["relabelled"] = True
            positives.append(entry)
        negatives = [
            {
                "doc_id": n.doc_id,
                "score": float(n.score),
                "how": n.how,
                "prob": float(n.prob),
                "ranks": dict(n.ranks),
            }
            for n in self.negatives
        ]
        line = {
            "query_id": self.query_id,
            "query": self.query,
            "positives": positives,
            "negatives": negatives,
            "teacher": self.teacher,
        }
        if self.teacher_scale is not None:
            line["teacher_scale"] = self.teacher_scale
        return line


class MiningResult(NamedTuple):
    """What mining returns: the training records and the counts of what was kept and dropped.
    A tuple too, so `records, counts = rd.mine(...)` unpacks it."""

    records: list[TrainingRecord]
    counts: dict[str, int]


def meta_path(path: str | Path) -> Path:
    """The sidecar of a training set: `<path>.meta.json`."""
    return Path(f"{path}.meta.json")


def write_training_set(
    path: str | Path, records: list[TrainingRecord], meta: dict[str, Any]
) -> Path:
    """Write the JSONL atomically, then its sidecar (so a sidecar means a complete file)."""
    path = Path(path)
    for record in records:
        if not record.negatives:
            raise UserError(
                f"training record for query {record.query_id!r} has no negatives: leave the query out"
            )

    def write(handle: IO[str]) -> None:
        for record in records:
            handle.write(json.dumps(record.to_json(), ensure_ascii=False, allow_nan=False) + "\n")

    atomic_write(path, write)
    atomic_write_json(
        meta_path(path), {**meta, "records": len(records), "provenance": provenance()}
    )
    return path


def read_training_set(path: str | Path) -> list[TrainingRecord]:
    """Read and validate a training set; an InputError names the file, line and field."""
    return list(iter_training_set(path))


def iter_training_set(path: str | Path) -> Iterator[TrainingRecord]:
    path = Path(path)
    first_seen: dict[str, int] = {}
    for line_no, data in jsonl_records(path):
        record = _Line(path, line_no).record(data)
        if record.query_id in first_seen:
            raise InputError(
                path,
                f"duplicate query id {record.query_id!r} (first on line {first_seen[record.query_id]})",
                line_no,
                "query_id",
            )
        first_seen[record.query_id] = line_no
        yield record


class _Line:
    """Validation of one parsed line; every failure is an InputError at this file and line."""

    def __init__(self, path: Path, line_no: int):
        self.path, self.line_no = path, line_no

    def fail(self, name: str | None, message: str) -> NoReturn:
        raise InputError(self.path, message, self.line_no, name)

    def get(self, obj: dict, key: str, where: str, kind: type | tuple[type, ...], what: str) -> Any:
        name = f"{where}.{key}" if where else key
        if key not in obj:
            self.fail(name, "missing")
        value = obj[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.fail(name, f"expected {what}, got {type(value).__name__}")
        return value

    def text(self, obj: dict, key: str, where: str = "") -> str:
        value = self.get(obj, key, where, str, "a string")
        name = f"{where}.{key}" if where else key
        if not value.strip():
            self.fail(name, "empty")
        check_encodable(self.path, self.line_no, name, value)
        return value

    def number(self, obj: dict, key: str, where: str) -> float:
        value = float(self.get(obj, key, where, (int, float), "a number"))
        if not math.isfinite(value):
            self.fail(f"{where}.{key}", f"not finite: {value}")
        return value

    def entries(self, data: dict, key: str) -> list[tuple[str, dict]]:
        items = self.get(data, key, "", list, "a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                self.fail(f"{key}[{i}]", f"expected an object, got {type(item).__name__}")
        return [(f"{key}[{i}]", item) for i, item in enumerate(items)]

    def record(self, data: Any) -> TrainingRecord:
        if not isinstance(data, dict):
            self.fail(None, f"expected a JSON object, got {type(data).__name__}")
        query_id, query = self.text(data, "query_id"), self.text(data, "query")
        positives = [self.positive(w, p) for w, p in self.entries(data, "positives")]
        negatives = [self.negative(w, n) for w, n in self.entries(data, "negatives")]
        if not negatives:
            self.fail("negatives", "empty: every record needs at least one negative")
        scale = self.text(data, "teacher_scale") if "teacher_scale" in data else None
        return TrainingRecord(
            query_id, query, positives, negatives, self.text(data, "teacher"), scale
        )

    def positive(self, where: str, p: dict) -> Positive:
        doc_id, score = self.text(p, "doc_id", where), self.number(p, "score", where)
        relabelled = (
            self.get(p, "relabelled", where, bool, "true or false") if "relabelled" in p else False
        )
        return Positive(doc_id, score, relabelled)

    def negative(self, where: str, n: dict) -> Negative:
        doc_id, score = self.text(n, "doc_id", where), self.number(n, "score", where)
        how = self.get(n, "how", where, str, "a string")
        if how not in HOWS:
            self.fail(f"{where}.how", f"expected one of {', '.join(HOWS)}, got {how!r}")
        prob = self.number(n, "prob", where)
        if not 0 < prob <= 1:
            self.fail(f"{where}.prob", f"expected a probability in (0, 1], got {prob}")
        ranks = self.get(n, "ranks", where, dict, "an object")
        for spec, rank in ranks.items():
            if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
                self.fail(f"{where}.ranks.{spec}", f"expected a rank >= 1, got {rank!r}")
        return Negative(doc_id, score, how, prob, dict(ranks))

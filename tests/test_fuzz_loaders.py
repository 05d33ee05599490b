"""Property: whatever happens to the bytes of a valid BEIR folder or training set (bytes
flipped, lines cut, dropped or repeated, fields dropped or retyped, the file re-encoded), the
loaders either load it cleanly or raise a UserError that names the file (an InputError also its
line) - which the CLI prints and exits 2 on. Any other exception is a traceback, a bug."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankdistill.core.errors import InputError, UserError
from rankdistill.data import load_dataset
from rankdistill.mining.records import read_training_set

CORPUS = [
    {
        "_id": "d1",
        "title": "Photosynthèse",
        "text": "Plants convert sunlight into glucose — naïvely put.",
    },
    {
        "_id": "d2",
        "title": "Volcanoes",
        "text": "Magma rises through the crust and erupts as lava.",
    },
    {"_id": "d3", "title": "", "text": "東京 vaccines train the immune system."},
    {
        "_id": "d4",
        "title": "Tides",
        "text": "The moon's gravity pulls the oceans: «high» and «low» tides.",
    },
]
QUERIES = [
    {"_id": "q1", "text": "how do plants make glucose"},
    {"_id": "q2", "text": "what causes tides ☾"},
]
QRELS = ["query-id\tcorpus-id\tscore", "q1\td1\t1", "q2\td4\t2", "q2\td2\t0"]
TRAINING = [
    {
        "query_id": "q1",
        "query": "how do plants make glucose",
        "positives": [{"doc_id": "d1", "score": 3.5}],
        "negatives": [
            {"doc_id": "d2", "score": -1.0, "how": "top", "prob": 1.0, "ranks": {"bm25": 2}},
            {"doc_id": "d3", "score": 0.25, "how": "random", "prob": 0.5, "ranks": {}},
        ],
        "teacher": "abc123",
    },
    {
        "query_id": "q2",
        "query": "what causes tides ☾",
        "positives": [{"doc_id": "d4", "score": 2.0, "relabelled": True}],
        "negatives": [
            {
                "doc_id": "d1",
                "score": 0.0,
                "how": "top",
                "prob": 1.0,
                "ranks": {"bm25": 1, "dense:m": 3},
            }
        ],
        "teacher": "abc123",
    },
]


def jsonl(records: list[dict]) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in records]


BEIR_FILES: dict[str, list[str]] = {
    "corpus.jsonl": jsonl(CORPUS),
    "queries.jsonl": jsonl(QUERIES),
    "qrels/test.tsv": QRELS,
}

json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
index = st.integers(0, 1000)
# Bytes that mean something to the formats (separators, quotes, escapes, BOM and UTF-8 lead
# bytes), half the time; any byte the other half.
byte = st.one_of(
    st.sampled_from(b'\t\n\r"{}[]:,\\ 0-.e\x00\xef\xbb\xbf\xc3\xe9\xff\xfe'), st.integers(0, 255)
)
corruptions = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(index, byte), min_size=1, max_size=4)),
    st.tuples(st.just("insert"), st.lists(st.tuples(index, byte), min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), index),
    st.tuples(st.just("cut_line"), index, index),
    st.tuples(st.just("delete_line"), index),
    st.tuples(st.just("repeat_line"), index),
    st.tuples(st.just("drop_field"), index, index),
    st.tuples(st.just("retype_field"), index, index, json_values),
    st.tuples(
        st.just("encode"),
        st.sampled_from(
            ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "utf-8-sig"]
        ),
    ),
)


def paths_in(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key/index path inside a parsed JSON value (each container's children, recursively)."""
    found = []
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths_in(child, (*prefix, key)))
    return found


def edit_field(line: str, which: int, replace: Callable[[Any, Any], None]) -> str:
    """Apply `replace(parent, key)` at the `which`-th field path of a JSON line, or of a TSV row."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        record = None
    if isinstance(record, (dict, list)):
        paths = paths_in(record)
        if not paths:
            return line
        *head, key = paths[which % len(paths)]
        parent = record
        for part in head:
            parent = parent[part]
        replace(parent, key)
        return json.dumps(record, ensure_ascii=False)
    columns = line.split("\t")
    replace(columns, which % len(columns))
    return "\t".join(str(c) for c in columns)


def corrupt(lines: list[str], ops: list[tuple]) -> bytes:
    lines = list(lines)
    encoding = "utf-8"
    data: bytes | None = None
    for op, *args in ops:
        if op in ("flip", "insert", "truncate"):
            data = (
                data
                if data is not None
                else ("\n".join(lines) + "\n").encode(encoding, errors="replace")
            )
            if op in ("flip", "insert"):
                buffer = bytearray(data)
                for position, value in args[0]:
                    if op == "flip" and buffer:
                        buffer[position % len(buffer)] = value
                    else:
                        buffer.insert(position % (len(buffer) + 1), value)
                data = bytes(buffer)
            else:
                data = data[: args[0] % (len(data) + 1)]
            continue
        if data is not None:  # line edits after byte edits: work on what the bytes still say
            lines = data.decode(encoding, errors="replace").split("\n")
            data = None
        if op == "encode":
            encoding = args[0]
            continue
        if not lines:
            continue
        n = args[0] % len(lines)
        if op == "cut_line":
            lines[n] = lines[n][: args[1] % (len(lines[n]) + 1)]
        elif op == "delete_line":
            del lines[n]
        elif op == "repeat_line":
            lines.insert(n, lines[n])
        elif op == "drop_field":
            lines[n] = edit_field(lines[n], args[1], lambda parent, key: parent.pop(key))
        elif op == "retype_field":
            lines[n] = edit_field(
                lines[n], args[1], lambda parent, key, value=args[2]: parent.__setitem__(key, value)
            )
    if data is not None:
        return data
    return ("\n".join(lines) + "\n").encode(encoding, errors="replace")


def assert_clean_or_located(load: Callable[[], Any], folder: Path) -> None:
    try:
        load()
    except InputError as error:
        assert Path(error.path).is_relative_to(folder), error
        assert error.line is None or error.line >= 1, error
    except UserError as error:
        assert str(folder) in str(error), f"a user error that names no file: {error}"


WORK = Path(tempfile.mkdtemp(prefix="rankdistill-fuzz-"))
FUZZ = settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(
    target=st.sampled_from(sorted(BEIR_FILES)), ops=st.lists(corruptions, min_size=1, max_size=3)
)
def test_corrupted_beir_folder_loads_or_fails_located(target: str, ops: list[tuple]) -> None:
    folder = WORK / "beir"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    for name, lines in BEIR_FILES.items():
        (folder / name).write_bytes(
            corrupt(lines, ops) if name == target else ("\n".join(lines) + "\n").encode()
        )
    assert_clean_or_located(lambda: load_dataset(folder, "test"), folder)


@FUZZ
@given(ops=st.lists(corruptions, min_size=1, max_size=3))
def test_corrupted_training_set_loads_or_fails_located(ops: list[tuple]) -> None:
    path = WORK / "train.jsonl"
    path.write_bytes(corrupt(jsonl(TRAINING), ops))

    def load() -> None:
        for record in read_training_set(path):
            for text in (
                record.query_id,
                record.query,
                *(p.doc_id for p in record.positives),
                *(n.doc_id for n in record.negatives),
            ):
                text.encode("utf-8")  # what loads is usable downstream

    assert_clean_or_located(load, WORK)


def test_the_uncorrupted_inputs_load() -> None:
    folder = WORK / "clean"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    for name, lines in BEIR_FILES.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_dataset(folder, "test").qrels == {"q1": {"d1": 1}, "q2": {"d4": 2, "d2": 0}}
    (folder / "train.jsonl").write_text("\n".join(jsonl(TRAINING)) + "\n", encoding="utf-8")
    assert [r.query_id for r in read_training_set(folder / "train.jsonl")] == ["q1", "q2"]

"""TREC run files (rankdistill/metrics/run_file.py, read by `rankdistill score --run`): damage
is an InputError naming the file, line and field; a row cut short is refused wherever the cut
falls. A cut at a row end leaves a valid shorter run, which the size record the writer keeps
beside the file (`<run>.size.json`) catches."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankdistill.core.errors import UserError
from rankdistill.metrics import evaluate_run, read_trec_run, write_trec_run
from rankdistill.retrieval.base import Results
from tests.conftest import TINY_QRELS
from tests.faults.inject import FAULTS, inject, user_error

RESULTS: Results = {
    "q1": {"d1": 0.91, "d7": 0.4, "d3": 0.125},
    "q2": {"d7": 0.83, "d4": 0.5, "d1": 0.25},
    "q3": {"d8": 0.77, "d2": 0.6, "d3": 0.59},
    "q4": {"d5": 0.99, "d10": 0.3, "d6": 0.01},
}


@pytest.fixture
def written(tmp_path: Path) -> Path:
    return write_trec_run(RESULTS, tmp_path / "run.trec", tag="student")


def retype_run(data: bytes) -> bytes:
    """The first row's score as a word."""
    first, rest = data.split(b"\n", 1)
    columns = first.split(b" ")
    columns[4] = b"high"
    return b" ".join(columns) + b"\n" + rest


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_run_file(written: Path, fault: str) -> None:
    inject(written, fault, retype_run)
    expected = {
        "truncated": f"{written}: 6 rows and",  # cut at a row end: caught by its size record
        "garbage": f"{written}:1: ",
        "wrong type": f"{written}:1: field 'score': not a number: 'high'",
        "deleted": f"{written}: file not found",
    }[fault]
    user_error(lambda: read_trec_run(written), written, expected)


def test_every_cut_is_refused_against_the_size_record(written: Path) -> None:
    data = written.read_bytes()
    for cut in range(1, len(data)):
        written.write_bytes(data[:cut])
        with pytest.raises(UserError, match=f"^{written}"):
            read_trec_run(written)


def test_every_cut_inside_a_row_is_refused_without_a_size_record(written: Path) -> None:
    """A run written elsewhere has no size record. Cut after every byte: a row cut short is
    refused, even inside its tag (the one column a cut row keeps all six of) unless it is the
    first row, whose data columns are then whole; cut at a row's end, the file reads as the rows
    before it."""
    Path(f"{written}.size.json").unlink()
    data = written.read_bytes()
    rows = data.split(b"\n")[:-1]
    ends = {sum(len(row) + 1 for row in rows[: i + 1]) - 1 for i in range(len(rows))}
    first_tag = range(rows[0].rindex(b" ") + 2, len(rows[0]))  # cuts that keep part of it
    read = set()
    for cut in range(1, len(data)):
        written.write_bytes(data[:cut])
        whole = data[:cut].count(b"\n") + (cut in ends or cut in first_tag)
        expected: Results = {}
        for row in rows[:whole]:
            query_id, _, doc_id, _, score, _ = row.decode().split()
            expected.setdefault(query_id, {})[doc_id] = float(score)
        try:
            assert read_trec_run(written) == expected, f"cut at byte {cut}"
            read.add(cut)
        except UserError as error:
            assert str(error).startswith(f"{written}:{whole + 1}: "), str(error)
    at_row_ends = {end + offset for end in ends for offset in (0, 1)} & set(range(len(data)))
    assert read == at_row_ends | set(first_tag)


def test_the_intact_run_scores_as_the_results(written: Path) -> None:
    run = read_trec_run(written)
    assert run == {q: {d: round(s, 6) for d, s in hits.items()} for q, hits in RESULTS.items()}
    assert evaluate_run(TINY_QRELS, run).aggregate == evaluate_run(TINY_QRELS, RESULTS).aggregate

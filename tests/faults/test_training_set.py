"""A mined training set (train.jsonl and its sidecar train.jsonl.meta.json, written by
`write_training_set`, read by training's `load_records`): damage is an InputError/UserError
naming the file (and its line and field where there is one); a file cut at a line end parses but
disagrees with the record count its sidecar holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankdistill.data import load_dataset
from rankdistill.data.beir import BeirDataset
from rankdistill.mining.records import (
    Negative,
    Positive,
    TrainingRecord,
    meta_path,
    write_training_set,
)
from rankdistill.training.data import load_records
from tests.conftest import TINY_CORPUS, TINY_QRELS, write_beir
from tests.faults.inject import FAULTS, inject, user_error


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> BeirDataset:
    return load_dataset(
        write_beir(tmp_path_factory.mktemp("beir") / "tiny", split="train"), "train"
    )


def records(dataset: BeirDataset) -> list[TrainingRecord]:
    made = []
    for query_id, judged in TINY_QRELS.items():
        others = [d for d in TINY_CORPUS if d not in judged][:3]
        made.append(
            TrainingRecord(
                query_id,
                dataset.queries[query_id],
                [Positive(d, 6.5 + i) for i, d in enumerate(judged)],
                [Negative(d, 4.25 - i, "top", 1.0, {"bm25": i + 1}) for i, d in enumerate(others)],
                "fault-teacher",
            )
        )
    return made


@pytest.fixture
def written(dataset: BeirDataset, tmp_path: Path) -> Path:
    return write_training_set(
        tmp_path / "train.jsonl", records(dataset), {"config": {"dataset": "tiny"}}
    )


def retype_set(data: bytes) -> bytes:
    """The first negative's score of the first record as a string."""
    first, rest = data.split(b"\n", 1)
    line = json.loads(first)
    line["negatives"][0]["score"] = str(line["negatives"][0]["score"])
    return json.dumps(line).encode() + b"\n" + rest


def retype_sidecar(data: bytes) -> bytes:
    """The record count as a string."""
    return json.dumps({**json.loads(data), "records": "4"}).encode()


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_training_set(written: Path, dataset: BeirDataset, fault: str) -> None:
    inject(written, fault, retype_set)
    expected = {
        "truncated": f"{written}:3: invalid JSON (",  # 4 lines cut in half: inside line 3
        "garbage": f"{written}:1: ",
        "wrong type": f"{written}:1: field 'negatives[0].score': expected a number, got str",
        "deleted": f"{written}: file not found",
    }[fault]
    user_error(lambda: load_records(written, dataset), written, expected)


@pytest.mark.parametrize("lines", [1, 2, 3])
def test_a_training_set_cut_at_a_line_end_disagrees_with_its_sidecar(
    written: Path, dataset: BeirDataset, lines: int
) -> None:
    kept = written.read_bytes().split(b"\n")[:lines]
    written.write_bytes(b"\n".join(kept) + b"\n")
    user_error(
        lambda: load_records(written, dataset),
        written,
        f"{written}: holds {lines} record(s), but train.jsonl.meta.json recorded 4 when it was "
        "written: the file was cut short or changed since; mine it again",
    )


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_training_set_sidecar(written: Path, dataset: BeirDataset, fault: str) -> None:
    sidecar = meta_path(written)
    inject(sidecar, fault, retype_sidecar)
    if fault == "deleted":  # optional (a training set written by hand has none): reads the same
        assert load_records(written, dataset) == records(dataset)
        return
    expected = {  # the sidecar is indented JSON: its line is where the cut fell
        "truncated": (f"{sidecar}:", ": invalid JSON ("),
        "garbage": (f"{sidecar}:1: ",),
        "wrong type": (f"{sidecar}: field 'records': expected a count, got str",),
    }[fault]
    user_error(lambda: load_records(written, dataset), sidecar, *expected)


def test_the_intact_training_set_reads_back_as_written(written: Path, dataset: BeirDataset) -> None:
    assert load_records(written, dataset) == records(dataset)

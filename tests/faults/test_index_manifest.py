"""An index folder's manifest.json (rankdistill/indexes/manifest.py, load.py): `open_index` on a
damaged or missing manifest is a UserError naming it, never a KeyError or TypeError later."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rankdistill.indexes.load import open_index
from tests.faults.inject import FAULTS, inject, user_error


@pytest.fixture
def index_copy(flat_index: tuple[Path, Path], tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    shutil.copytree(flat_index[1], folder)
    return folder


def retyped(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def retype(data: bytes) -> bytes:
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest).encode()

    return retype


def count_as_text(manifest: dict[str, Any]) -> None:
    manifest["count"] = str(manifest["count"])


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_index_manifest(index_copy: Path, fault: str) -> None:
    path = index_copy / "manifest.json"
    inject(path, fault, retyped(count_as_text))
    if fault == "deleted":  # the folder and the file's name
        user_error(
            lambda: open_index(index_copy),
            index_copy,
            f"{index_copy}: not a complete index, manifest.json is missing",
        )
        return
    expected = {
        "truncated": "damaged manifest, not valid JSON (",
        "garbage": "damaged manifest, not valid JSON (",
        "wrong type": "damaged manifest, field 'count' is a string, expected an integer",
    }[fault]
    user_error(lambda: open_index(index_copy), path, f"{path}: {expected}")


def _set(*keys: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        target: Any = manifest
        for key in keys[:-1]:
            target = target[key]
        if keys[-1] == "*":  # every entry of an object
            for key in target:
                target[key] = value
        else:
            target[keys[-1]] = value

    return change


# Every field open_index and its callers read, given a value of another JSON type.
RETYPED = {
    "spec": (_set("spec", value=7), "field 'spec' is an integer, expected a string"),
    "kind": (_set("kind", value=["faiss"]), "field 'kind' is a list, expected a string"),
    "dimension": (_set("dimension", value="128"), "field 'dimension' is a string"),
    "count": (_set("count", value=10.0), "field 'count' is a number, expected an integer"),
    "count bool": (_set("count", value=True), "field 'count' is a boolean, expected an integer"),
    "model": (_set("model", value="tiny"), "field 'model' is a string, expected an object"),
    "model.name": (_set("model", "name", value=None), "field 'model.name' is null"),
    "model.type": (_set("model", "type", value="dense!"), "field 'model.type' is 'dense!'"),
    "doc_ids": (_set("doc_ids", value="d1 d2"), "field 'doc_ids' is a string, expected a list"),
    "doc_ids[0]": (_set("doc_ids", 0, value=1), "field 'doc_ids[0]' is an integer"),
    "files": (_set("files", value=[]), "field 'files' is a list, expected an object"),
    "files entry": (_set("files", "*", value=5), "field 'files.index.faiss' is an integer"),
    "files bytes": (
        _set("files", "index.faiss", "bytes", value="1"),
        "field 'files.index.faiss.bytes' is a string, expected an integer",
    ),
    "files sha256": (
        _set("files", "index.faiss", "sha256", value=None),
        "field 'files.index.faiss.sha256' is null, expected a string",
    ),
    "dataset": (_set("dataset", value="tiny"), "field 'dataset' is a string, expected an object"),
    "provenance": (  # read only for the message about another format version
        lambda m: m.update(format_version=2, provenance="x"),
        "index format version 2 (made by rankdistill an unknown version)",
    ),
}


@pytest.mark.parametrize("field", list(RETYPED))
def test_every_manifest_field_of_another_type_is_named(index_copy: Path, field: str) -> None:
    change, expected = RETYPED[field]
    path = index_copy / "manifest.json"
    path.write_bytes(retyped(change)(path.read_bytes()))
    user_error(lambda: open_index(index_copy), path, f"{path}: ", expected)


def test_the_intact_copy_opens_and_searches(index_copy: Path) -> None:
    index = open_index(index_copy)
    vectors = index.structure.stored_vectors(np.arange(index.structure.count, dtype=np.int64))
    _, found = index.search_vectors(np.ascontiguousarray(vectors[:2], dtype=np.float32), 1)
    assert found[:, 0].tolist() == [0, 1]

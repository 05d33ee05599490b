"""The index manifest: what an index folder holds and what made it. Written last, so its
presence means the index is complete; read first, so that a wrong version, a different model or
a damaged file is refused with a clear message instead of wrong results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rankdistill.core.atomic import atomic_write_json
from rankdistill.core.errors import UserError
from rankdistill.encoders.models import file_sha256

MANIFEST = "manifest.json"
FORMAT = "rankdistill-index"
FORMAT_VERSION = 1


# The fields an index is loaded by, with their JSON types (a bool is not an integer here).
FIELDS: dict[str, type] = {
    "spec": str,
    "kind": str,
    "dimension": int,
    "count": int,
    "model": dict,
    "doc_ids": list,
    "files": dict,
}
MODEL_FIELDS: dict[str, type] = {"name": str, "type": str}
FILE_FIELDS: dict[str, type] = {"bytes": int, "sha256": str}
JSON_TYPES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


def describe_files(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """{name: {bytes, sha256}} for the files an index searches."""
    return {
        name: {"bytes": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
        for name in names
    }


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    return atomic_write_json(
        folder / MANIFEST, {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest}
    )


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a complete index of this format version, or a UserError saying why not."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise UserError(f"{folder}: no such index folder")
    if not path.is_file():
        partial = (folder / "chunks").is_dir()
        hint = (
            " (a build started here and did not finish: rerun the same `rankdistill index build` to resume)"
            if partial
            else ""
        )
        raise UserError(f"{folder}: not a complete index, {MANIFEST} is missing{hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: damaged manifest, not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{path}: not a rankdistill index manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        provenance = manifest.get("provenance")
        versions = provenance.get("versions") if isinstance(provenance, dict) else None
        made_by = versions.get("rankdistill") if isinstance(versions, dict) else None
        made_by = made_by or "an unknown version"
        raise UserError(
            f"{path}: index format version {version} (made by rankdistill {made_by}); this rankdistill reads "
            f"version {FORMAT_VERSION} only: rebuild the index with `rankdistill index build`"
        )
    for key, kind in FIELDS.items():
        if key not in manifest:
            raise UserError(f"{path}: damaged manifest, field {key!r} missing")
        _check_type(path, key, manifest[key], kind)
    for key, kind in MODEL_FIELDS.items():
        if key not in manifest["model"]:
            raise UserError(f"{path}: damaged manifest, field 'model.{key}' missing")
        _check_type(path, f"model.{key}", manifest["model"][key], kind)
    if manifest["model"]["type"] not in ("dense", "sparse"):
        raise UserError(
            f"{path}: damaged manifest, field 'model.type' is {manifest['model']['type']!r}, "
            "expected 'dense' or 'sparse'"
        )
    if "dataset" in manifest:
        _check_type(path, "dataset", manifest["dataset"], dict)
    for i, doc_id in enumerate(manifest["doc_ids"]):
        _check_type(path, f"doc_ids[{i}]", doc_id, str)
    for name, entry in manifest["files"].items():
        _check_type(path, f"files.{name}", entry, dict)
        for key, kind in FILE_FIELDS.items():
            if key not in entry:
                raise UserError(f"{path}: damaged manifest, field 'files.{name}.{key}' missing")
            _check_type(path, f"files.{name}.{key}", entry[key], kind)
    if len(manifest["doc_ids"]) != manifest["count"]:
        raise UserError(
            f"{path}: damaged manifest, {len(manifest['doc_ids'])} doc ids for {manifest['count']} vectors"
        )
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists exists with its recorded size and checksum."""
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise UserError(f"{path}: index file missing")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise UserError(
                f"{path}: corrupted index file: {size} bytes, the manifest recorded {expected['bytes']}"
            )
        if file_sha256(path) != expected["sha256"]:
            raise UserError(
                f"{path}: corrupted index file: its sha256 differs from the one recorded at build time"
            )


def _check_type(path: Path, field: str, value: Any, kind: type) -> None:
    """A UserError naming the manifest and the field when `value` is not of JSON type `kind`."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise UserError(
            f"{path}: damaged manifest, field {field!r} is {_json_type(value)}, "
            f"expected {JSON_TYPES[kind]}"
        )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number"
    return JSON_TYPES.get(type(value), type(value).__name__)

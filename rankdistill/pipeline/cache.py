"""Cached pipeline stages: each stage's outputs live in `<run>/stages/<name>/`, keyed by the
config that made them.

    key(stage) = sha256(stage settings, keys of the stages it reads from)

A finished stage writes `done.json` (key, settings, summary, seconds, a digest of its outputs and
their sizes, the digests of the outputs it read, provenance) last. On a rerun a stage whose
`done.json` holds the same key, whose inputs still have the digests it read, and whose outputs
still have the sizes (and, up to 256 MB, the digest) it wrote, is skipped; outputs that fail that
check are named in a warning and the stage runs again from an empty folder; a changed setting
changes the key of that stage and of every stage downstream, so exactly those rerun. A stage
killed half way has no `done.json`: it runs again in the same folder, where its own resumable
state (score store shards, training checkpoints, index chunks) lets it continue. A folder holding
state for another key is cleared first, so stale partial work is never mixed in.

A forced stage (`--rerun NAME`) starts from an empty folder: the old one is renamed aside in one
step (so a kill leaves either the finished stage or no stage, never a mix) and then deleted. The
stages after it rerun if what it made differs from what they read (its output digest changed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankdistill.core.atomic import atomic_write_json, atomic_write_text
from rankdistill.core.distributed import Shard
from rankdistill.core.provenance import provenance
from rankdistill.pipeline.key_migrations import KEY_VERSION, older_settings

log = logging.getLogger(__name__)

KEY_FILE = "key"
DONE_FILE = "done.json"
TRASH_PREFIX = ".removing-"
MODEL_CARD = (
    "README.md"  # a trained model's card: the run's report adds its evaluation after the stage
)
VERIFY_FULL_BYTES = (
    256 << 20
)  # a cached stage's outputs up to this size are re-hashed in full before use


@dataclass
class Stage:
    """`run(folder, upstream)` does the work in `folder` and returns a JSON-able summary;
    `upstream` maps each name in `inputs` to that stage's folder."""

    name: str
    settings: dict[str, Any]
    run: Callable[[Path, dict[str, Path]], dict[str, Any]]
    inputs: list[str] = field(default_factory=list)
    # paths in the folder later stages read (digested); None: the whole folder
    outputs: list[str] | None = None

    def settings_under(self, version: int) -> dict[str, Any]:
        """The settings as key `version` wrote them (rankdistill/pipeline/key_migrations.py): a
        folder made then, whose done.json holds that key, is cached."""
        return older_settings(self.name, self.settings, version)


@dataclass
class StageOutcome:
    name: str
    key: str
    folder: Path
    cached: bool
    seconds: float
    summary: dict[str, Any]
    peak_rss_mb: int = 0  # the process's peak resident memory when the stage ended


def stage_key(
    settings: dict[str, Any], upstream_keys: list[str], version: int | None = KEY_VERSION
) -> str:
    """The key of a stage's settings and inputs under key `version` (None: version 0, which
    carried no version)."""
    content: dict[str, Any] = {"settings": settings, "upstream": upstream_keys}
    if version is not None:
        content["key_version"] = version
    payload = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_stages(
    stages: list[Stage],
    run_dir: str | Path,
    force: set[str] = frozenset(),
    shard: Shard | None = None,
) -> list[StageOutcome]:
    """Run `stages` in order (each may read the folders of earlier ones), skipping finished
    stages whose key and inputs are unchanged (unless named in `force`). With a `shard` of several
    ranks every rank runs each stage (which splits its work by rank) and rank 0 alone prepares the
    stage folder and writes `done.json`; the ranks wait for each other between stages."""
    shard = shard or Shard()
    root = Path(run_dir) / "stages"
    _remove_trash(root)
    keys: dict[str, str] = {}
    digests: dict[str, str | None] = {}
    folders: dict[str, Path] = {}
    ran: set[str] = set()
    outcomes = []
    for stage in stages:
        missing = [name for name in stage.inputs if name not in keys]
        if missing:
            raise ValueError(f"stage {stage.name!r} reads {missing}, which do not run before it")
        upstream = [keys[name] for name in stage.inputs]
        key = stage_key(stage.settings, upstream)
        folder = root / stage.name
        folders[stage.name] = folder
        read = {name: digests[name] for name in stage.inputs}
        done = _read_done(folder)
        if (
            done is not None
            and done.get("key") != key
            and _made_under_older_key(stage, done, upstream)
        ):
            key = done["key"]  # a folder made under an older key version, for these very settings
        keys[stage.name] = key
        redo = False
        if (
            done is not None
            and done.get("key") == key
            and stage.name not in force
            and _same_inputs(done, read, ran)
        ):
            problem = verify_outputs(folder, stage.outputs, done)
            if problem is None:
                log.info("stage %s: cached (%s)", stage.name, key)
                digests[stage.name] = done.get("outputs_sha256")
                outcomes.append(
                    StageOutcome(
                        stage.name,
                        key,
                        folder,
                        True,
                        float(done.get("seconds", 0.0)),
                        done.get("summary", {}),
                    )
                )
                continue
            log.warning(
                "stage %s: its cached outputs fail their check (%s); running it again from scratch",
                stage.name,
                problem,
            )
            redo = True
        if shard.is_main:
            if stage.name in force or redo:
                _move_aside(folder)
            _prepare(folder, key)
        shard.barrier()
        log.info("stage %s: running (%s)", stage.name, key)
        start = time.perf_counter()
        summary = stage.run(folder, {name: folders[name] for name in stage.inputs})
        seconds = time.perf_counter() - start
        release_memory()
        peak = peak_rss_mb()
        digests[stage.name] = outputs_digest(folder, stage.outputs)
        ran.add(stage.name)
        if shard.is_main:
            atomic_write_json(
                folder / DONE_FILE,
                {
                    "stage": stage.name,
                    "key": key,
                    "key_version": KEY_VERSION,
                    "settings": stage.settings,
                    "inputs": {n: keys[n] for n in stage.inputs},
                    "inputs_sha256": read,
                    "outputs_sha256": digests[stage.name],
                    "outputs_bytes": output_sizes(folder, stage.outputs),
                    "summary": summary,
                    "seconds": round(seconds, 3),
                    "peak_rss_mb": peak,
                    "provenance": provenance(),
                },
            )
        shard.barrier()
        outcomes.append(StageOutcome(stage.name, key, folder, False, seconds, summary, peak))
    return outcomes


def _made_under_older_key(stage: Stage, done: dict[str, Any], upstream: list[str]) -> bool:
    """Whether `done` was written under an older key version for this stage's settings and
    inputs (version 0 wrote no version; its key carried none)."""
    version = done.get("key_version", 0)
    if not isinstance(version, int) or not 0 <= version < KEY_VERSION:
        return False
    key = stage_key(stage.settings_under(version), upstream, version=version or None)
    return done.get("key") == key


def peak_rss_mb() -> int:
    """This process's peak resident memory so far, in MB (what `/usr/bin/time -v` reports)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def release_memory() -> None:
    """Give the memory a finished stage freed back to the system, so that the next stage's peak
    does not stack on the last one's (glibc keeps freed blocks of many-sized tensors otherwise)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _same_inputs(done: dict[str, Any], read: dict[str, str | None], ran: set[str]) -> bool:
    """Whether a finished stage read the outputs its inputs hold now. A `done.json` from before
    digests were recorded counts as current unless an input was remade in this run."""
    recorded = done.get("inputs_sha256")
    if recorded is None:
        return not ran.intersection(read)
    return all(recorded.get(name) == digest for name, digest in read.items())


def output_files(folder: Path, outputs: list[str] | None = None, cards: bool = False) -> list[Path]:
    """A stage's output files (under `outputs`, or the whole folder but its bookkeeping), in path
    order; model cards (README.md, which the run's report fills in later) only with `cards`."""
    roots = [folder / name for name in outputs] if outputs is not None else [folder]
    skipped = (DONE_FILE, KEY_FILE) if cards else (DONE_FILE, KEY_FILE, MODEL_CARD)
    return sorted(
        path
        for root in roots
        for path in ([root] if root.is_file() else root.rglob("*"))
        if path.is_file() and path.name not in skipped
    )


def output_sizes(folder: Path, outputs: list[str] | None = None) -> dict[str, int]:
    return {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in output_files(folder, outputs)
    }


def verify_outputs(folder: Path, outputs: list[str] | None, done: dict[str, Any]) -> str | None:
    """Why a finished stage's outputs cannot be trusted (a file gone, added, or of another size
    than `done.json` recorded; for outputs up to VERIFY_FULL_BYTES, any changed byte), or None."""
    recorded = done.get("outputs_bytes")
    legacy = not isinstance(
        recorded, dict
    )  # a done.json from before sizes were recorded digested model cards too
    if not legacy:
        now = output_sizes(folder, outputs)
        for name in sorted(recorded.keys() | now.keys()):
            if name not in now:
                return f"{folder / name} is missing"
            if name not in recorded:
                return f"{folder / name} was not among its outputs"
            if now[name] != recorded[name]:
                return f"{folder / name} has {now[name]} bytes, not the {recorded[name]} written"
        total = sum(now.values())
    else:
        total = sum(path.stat().st_size for path in output_files(folder, outputs, cards=True))
    expected = done.get("outputs_sha256")
    if (
        expected is not None
        and total <= VERIFY_FULL_BYTES
        and outputs_digest(folder, outputs, cards=legacy) != expected
    ):
        return f"the sha256 of its outputs in {folder} is not the one written"
    return None


def outputs_digest(folder: Path, outputs: list[str] | None = None, cards: bool = False) -> str:
    """sha256 over the relative paths and bytes of a stage's outputs (files under `outputs`, or
    the whole folder but its bookkeeping and model cards), in path order."""
    files = output_files(folder, outputs, cards)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def _move_aside(folder: Path) -> None:
    """Take a finished stage out of the way in one rename, then delete it."""
    if not folder.exists():
        return
    trash = folder.with_name(f"{TRASH_PREFIX}{folder.name}.{os.getpid()}.{time.time_ns()}")
    folder.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)


def _remove_trash(root: Path) -> None:
    """Folders a killed `_move_aside` renamed but had not deleted yet."""
    if root.is_dir():
        for trash in root.glob(f"{TRASH_PREFIX}*"):
            shutil.rmtree(trash, ignore_errors=True)


def _read_done(folder: Path) -> dict[str, Any] | None:
    """A stage's done.json, or None where it is missing or not a done.json (the stage reruns)."""
    path = folder / DONE_FILE
    try:
        done = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        log.warning("%s: unreadable (%s); the stage runs again", path, error)
        return None
    if not isinstance(done, dict) or not isinstance(done.get("key"), str):
        log.warning("%s: not a done.json (no key); the stage runs again", path)
        return None
    return done


def _prepare(folder: Path, key: str) -> None:
    """Keep a folder's partial state only if it was made for this key."""
    recorded = (
        (folder / KEY_FILE).read_text(encoding="utf-8").strip()
        if (folder / KEY_FILE).is_file()
        else None
    )
    if folder.exists() and recorded != key:
        _move_aside(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DONE_FILE).unlink(missing_ok=True)
    if recorded != key:
        atomic_write_text(folder / KEY_FILE, key + "\n")

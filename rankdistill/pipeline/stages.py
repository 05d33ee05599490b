"""Cached pipeline stages: each stage's outputs live in `<run>/stages/<name>/`, keyed by the
config that made them.

    key(stage) = sha256(stage settings, keys of the stages it reads from)

A finished stage writes `done.json` (key, settings, summary, seconds, provenance) last. On a
rerun a stage whose `done.json` holds the same key is skipped; a changed setting changes the key
of that stage and of every stage downstream, so exactly those rerun. A stage killed half way has
no `done.json`: it runs again in the same folder, where its own resumable state (score store
shards, training checkpoints, index chunks) lets it continue. A folder holding state for another
key is cleared first, so stale partial work is never mixed in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankdistill.atomic import atomic_write_json, atomic_write_text
from rankdistill.distributed import Shard
from rankdistill.provenance import provenance

log = logging.getLogger(__name__)

KEY_FILE = "key"
DONE_FILE = "done.json"


@dataclass
class Stage:
    """`run(folder, upstream)` does the work in `folder` and returns a JSON-able summary;
    `upstream` maps each name in `inputs` to that stage's folder."""

    name: str
    settings: dict[str, Any]
    run: Callable[[Path, dict[str, Path]], dict[str, Any]]
    inputs: list[str] = field(default_factory=list)


@dataclass
class StageOutcome:
    name: str
    key: str
    folder: Path
    cached: bool
    seconds: float
    summary: dict[str, Any]


def stage_key(settings: dict[str, Any], upstream_keys: list[str]) -> str:
    payload = json.dumps({"settings": settings, "upstream": upstream_keys}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_stages(
    stages: list[Stage], run_dir: str | Path, force: set[str] = frozenset(), shard: Shard | None = None
) -> list[StageOutcome]:
    """Run `stages` in order (each may read the folders of earlier ones), skipping finished
    stages whose key is unchanged (unless named in `force`). With a `shard` of several ranks
    every rank runs each stage (which splits its work by rank) and rank 0 alone prepares the
    stage folder and writes `done.json`; the ranks wait for each other between stages."""
    shard = shard or Shard()
    root = Path(run_dir) / "stages"
    keys: dict[str, str] = {}
    folders: dict[str, Path] = {}
    outcomes = []
    for stage in stages:
        missing = [name for name in stage.inputs if name not in keys]
        if missing:
            raise ValueError(f"stage {stage.name!r} reads {missing}, which do not run before it")
        key = stage_key(stage.settings, [keys[name] for name in stage.inputs])
        folder = root / stage.name
        keys[stage.name], folders[stage.name] = key, folder
        done = _read_done(folder)
        if done is not None and done.get("key") == key and stage.name not in force:
            log.info("stage %s: cached (%s)", stage.name, key)
            outcomes.append(StageOutcome(stage.name, key, folder, True, float(done.get("seconds", 0.0)), done.get("summary", {})))
            continue
        if shard.is_main:
            _prepare(folder, key)
        shard.barrier()
        log.info("stage %s: running (%s)", stage.name, key)
        start = time.perf_counter()
        summary = stage.run(folder, {name: folders[name] for name in stage.inputs})
        seconds = time.perf_counter() - start
        if shard.is_main:
            atomic_write_json(
                folder / DONE_FILE,
                {"stage": stage.name, "key": key, "settings": stage.settings, "inputs": {n: keys[n] for n in stage.inputs},
                 "summary": summary, "seconds": round(seconds, 3), "provenance": provenance()},
            )
        shard.barrier()
        outcomes.append(StageOutcome(stage.name, key, folder, False, seconds, summary))
    return outcomes


def _read_done(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / DONE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _prepare(folder: Path, key: str) -> None:
    """Keep a folder's partial state only if it was made for this key."""
    recorded = (folder / KEY_FILE).read_text(encoding="utf-8").strip() if (folder / KEY_FILE).is_file() else None
    if folder.exists() and recorded != key:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DONE_FILE).unlink(missing_ok=True)
    if recorded != key:
        atomic_write_text(folder / KEY_FILE, key + "\n")

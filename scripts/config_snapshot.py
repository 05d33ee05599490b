"""Snapshot every config under configs/ as it loads, to prove that moving or rewriting config
files changed nothing a run would see.

For each YAML file under configs/ (recursively; configs/teachers/ holds ensemble catalogues, not
run configs, and is skipped) the snapshot records, under the config's `name:`:

    file     the path it was read from (relative to the repository; informative, not compared)
    kind     "run" (rankdistill.pipeline.config.load_pipeline_config) or "train"
             (rankdistill.training.load_train_config, for the train-only configs/train-*.yaml)
    config   dataclasses.asdict of the loaded config, paths as strings
    stages   run configs only: every stage of rankdistill.pipeline.run.pipeline_stages, in order,
             with its inputs and its cache key (computed as rankdistill.pipeline.cache.run_stages
             does: stage_key of its settings and its inputs' keys), and its key-version-0 key

    RANKDISTILL_DATA=../shared/data python scripts/config_snapshot.py /tmp/configs_before.json
    ... move configs ...
    RANKDISTILL_DATA=../shared/data python scripts/config_snapshot.py /tmp/configs_after.json \\
        --compare /tmp/configs_before.json     # exit 1 on any difference, naming it

Two files with the same `name:` are an error (the snapshot is keyed by name), as is a YAML file
that loads as neither kind of config.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
SKIPPED = ("teachers",)  # folders of configs/ that hold no run or train configs

Snapshot = dict[str, dict[str, Any]]


def plain(value: Any) -> Any:
    """`value` with paths as strings and tuples as lists (what JSON keeps)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def config_files(root: Path = CONFIGS) -> list[Path]:
    """Every YAML file under `root` but those in SKIPPED folders, sorted."""
    files = sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")])
    return [f for f in files if f.relative_to(root).parts[0] not in SKIPPED]


def stage_record(config: Any) -> list[dict[str, Any]]:
    """Each stage of a run config: name, inputs, key and key-version-0 key, as run_stages
    computes them."""
    from rankdistill.pipeline.cache import stage_key
    from rankdistill.pipeline.run import pipeline_stages

    keys: dict[str, str] = {}
    legacy_keys: dict[str, str] = {}
    record: list[dict[str, Any]] = []
    for stage in pipeline_stages(config):
        keys[stage.name] = stage_key(stage.settings, [keys[n] for n in stage.inputs])
        legacy_keys[stage.name] = stage_key(
            stage.settings_under(0), [legacy_keys[n] for n in stage.inputs], version=None
        )
        record.append(
            {
                "name": stage.name,
                "inputs": list(stage.inputs),
                "outputs": stage.outputs,
                "key": keys[stage.name],
                "legacy_key": legacy_keys[stage.name],
            }
        )
    return record


def load_entry(path: Path) -> tuple[str, dict[str, Any]]:
    """(the config's name, its snapshot entry)."""
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.training import load_train_config

    where = str(path.relative_to(REPO))
    if path.parent == CONFIGS and path.name.startswith("train-"):
        train = load_train_config(path)
        return train.name, {
            "file": where,
            "kind": "train",
            "config": plain(dataclasses.asdict(train)),
        }
    config = load_pipeline_config(path)
    entry = {
        "file": where,
        "kind": "run",
        "config": plain(dataclasses.asdict(config)),
        "stages": stage_record(config),
    }
    return config.name, entry


def snapshot(root: Path = CONFIGS) -> Snapshot:
    """Every config under `root`, keyed by name."""
    found: Snapshot = {}
    for path in config_files(root):
        name, entry = load_entry(path)
        if name in found:
            raise SystemExit(f"{path}: name {name!r} is also {found[name]['file']}")
        found[name] = entry
    return found


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots (the file each was read from aside)."""
    found = [f"{name}: missing after" for name in sorted(before.keys() - after.keys())]
    found += [f"{name}: new after" for name in sorted(after.keys() - before.keys())]
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        for part in ("kind", "config", "stages"):
            if old.get(part) != new.get(part):
                found.append(
                    f"{name} ({old['file']} -> {new['file']}): {part} differs"
                    + _first_difference(old.get(part), new.get(part), part)
                )
    return found


def _first_difference(old: Any, new: Any, where: str) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            if old.get(key, "<absent>") != new.get(key, "<absent>"):
                return _first_difference(
                    old.get(key, "<absent>"), new.get(key, "<absent>"), f"{where}.{key}"
                )
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                return _first_difference(a, b, f"{where}[{i}]")
    return f" at {where}: {old!r} -> {new!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("output", type=Path, help="the JSON snapshot written")
    parser.add_argument("--compare", type=Path, help="an earlier snapshot: exit 1 if any differs")
    args = parser.parse_args(argv)
    found = snapshot()
    args.output.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"{len(found)} configs -> {args.output}")
    if args.compare is None:
        return 0
    before = json.loads(args.compare.read_text())
    problems = differences(before, found)
    for problem in problems:
        print(problem)
    print(f"{len(before.keys() | found.keys())} configs compared, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

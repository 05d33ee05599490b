"""Typed run configs loaded from YAML (configs/*.yaml).

Every mistake is reported with the file, the line and the dotted field name, e.g.
`configs/x.yaml:7: field 'evaluate.retreivers': unknown key (known: datasets, split, ...)`.

A field's type is its annotation; what it accepts beyond that (a range, a set of names, a
non-empty list) is declared beside it with `checked(default, ge=1)` and checked by the one YAML
loader, `build_dataclass`, at the value's line. Command-line flags that set the same thing take
their argparse type from the same declaration (`flag_type`), so a range is written once.
Rules across fields (e.g. `max_steps` or `epochs`) stay with the config that has them.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rankdistill.core.errors import InputError, Line, UserError
from rankdistill.core.hardware import PRECISIONS
from rankdistill.core.textfile import read_text

T = TypeVar("T")

PRECISION_ALIAS = "bf16"
FLOAT32_MAX = 3.4028234663852886e38
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Check:
    """What a field accepts beyond its type: bounds (for a list, on each item), names, non-empty.
    None (an optional field left unset) always passes."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    nonempty: bool = False

    def problem(self, value: Any) -> str | None:
        """Why `value` is refused, or None."""
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            if self.nonempty and not value:
                return "needs at least one item"
            for i, item in enumerate(value):
                if (why := self.problem(item)) is not None:
                    return f"item {i}: {why}"
            return None
        if self.nonempty and isinstance(value, str) and not value.strip():
            return "must not be empty"
        if self.choices is not None and value not in self.choices:
            return f"expected one of {', '.join(self.choices)}, got {value!r}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.ge is not None and not value >= self.ge:
                return f"must be >= {self.ge:g}, got {value!r}"
            if self.gt is not None and not value > self.gt:
                return f"must be > {self.gt:g}, got {value!r}"
            if self.le is not None and not value <= self.le:
                return f"must be <= {self.le:g}, got {value!r}"
            if self.lt is not None and not value < self.lt:
                return f"must be < {self.lt:g}, got {value!r}"
        return None

    def argparse_type(self, kind: type) -> Callable[[str], Any]:
        """An argparse `type=` that parses `kind` (int, float, str) and applies this check: a
        bad flag ends in argparse's usage error (exit 2) naming the flag."""

        def parse(text: str) -> Any:
            try:
                value = kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected {'an' if kind is int else 'a'} {kind.__name__}, got {text!r}"
                ) from None
            if isinstance(value, float) and not math.isfinite(value):
                raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
            if (why := self.problem(value)) is not None:
                raise argparse.ArgumentTypeError(why)
            return value

        parse.__name__ = kind.__name__  # argparse names the type in some messages
        return parse


def checked(
    default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, **rules: Any
) -> Any:
    """A dataclass field with a `Check` (see its arguments) that the YAML loader applies."""
    if "choices" in rules:
        rules["choices"] = tuple(rules["choices"])
    return field(
        default=default, default_factory=default_factory, metadata={"check": Check(**rules)}
    )


def field_check(cls: type, name: str) -> Check:
    """The check declared on field `name` of dataclass `cls` (an empty one if none)."""
    found = next((f for f in dataclasses.fields(cls) if f.name == name), None)
    if found is None:
        raise AttributeError(f"{cls.__name__} has no field {name!r}")
    return found.metadata.get("check", Check())


def flag_type(cls: type, name: str) -> Callable[[str], Any]:
    """The argparse `type=` of a flag that sets field `name` of `cls`: its type and its check."""
    hint = typing.get_type_hints(cls)[name]
    options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return field_check(cls, name).argparse_type(options[0])


def check_fields(config: Any, where: str = "") -> None:
    """Apply every declared check to a config built in code (not read from YAML): UserError
    naming the dotted field."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        dotted = f"{where}.{f.name}" if where else f.name
        if (why := f.metadata.get("check", Check()).problem(value)) is not None:
            raise UserError(f"{dotted}: {why}")
        items = (
            [(f"{dotted}[{i}]", item) for i, item in enumerate(value)]
            if isinstance(value, list)
            else [(dotted, value)]
        )
        for name, item in items:
            if dataclasses.is_dataclass(item) and not isinstance(item, type):
                check_fields(item, name)


@dataclass
class EvaluateConfig:
    """Which retrievers to evaluate on which datasets."""

    # the datasets evaluated (the training one in domain, others out of domain)
    datasets: list[str] = checked(default_factory=lambda: ["scifact"], nonempty=True)
    split: str | None = None  # None: each dataset's default split (test for BEIR)
    # baselines beside the student: bm25, dense:MODEL, sparse:MODEL
    retrievers: list[str] = checked(
        default_factory=lambda: ["bm25", "dense:all-MiniLM-L6-v2"], nonempty=True
    )
    # depth of each ranking (R@k, MAP@k)
    k: int = checked(100, ge=1)
    # encoding batch size
    batch_size: int = checked(32, ge=1)
    # max tokens per text (None: the model's own)
    max_length: int | None = checked(None, ge=1)
    precision: str = checked(
        "auto", choices=PRECISIONS
    )  # model retrievers: auto | float32 | bf16 | fp16 (`bf16: true|false` is an alias)
    backend: str = "auto"  # dense retrievers: auto | torch | onnx | onnx-int8 | openvino
    # evaluate on one fixed hash half of each split's queries (rankdistill.data.query_sources): a
    # dataset without training queries (ArguAna) then trains on the other half as a query log
    query_half: str | None = checked(None, choices=("a", "b"))
    # the run's rerankers of BM25 (a cross-encoder student, the teacher) also fused with BM25's
    # scores, z(model) + w * z(bm25) per query (rankdistill/evaluation/fusion.py), w the best of
    # these on the student's judged dev queries, then used on every evaluated dataset; empty: no fusion
    fusion_weights: list[float] = checked(default_factory=list, ge=0)


@dataclass
class RunConfig:
    # the run's name: its folder is <output_dir>/<name>
    name: str = checked("default", nonempty=True)
    # every source of randomness in the run (mining samples, dev carve, training order, teacher training)
    seed: int = checked(13, ge=0)
    data_root: str | None = None  # folder of BEIR datasets; $RANKDISTILL_DATA if unset
    # where run folders (and, by default, the shared score store and encodings) are made
    output_dir: str = "runs"
    # the evaluation section: datasets, split, retrievers, metrics depth
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)

    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


def node_line(node: yaml.Node) -> Line:
    """The node's line, and the file it was read from (see `compose_yaml`)."""
    name = node.start_mark.name
    return Line(node.start_mark.line + 1, name if not name.startswith("<") else None)


def _convert(hint: Any, node: yaml.Node, where: str, path: Path) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return None
        if isinstance(
            node, yaml.SequenceNode
        ):  # `int | list[int]`: a written list is the list option
            options = [a for a in options if typing.get_origin(a) is list] or options
        return _convert(options[0], node, where, path)
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        value = _convert(type(allowed[0]), node, where, path)
        if value not in allowed:
            raise InputError(
                path,
                f"expected one of {', '.join(map(str, allowed))}, got {value!r}",
                node_line(node),
                where,
            )
        return value
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, node, where, path)
    if origin is tuple:
        (item, _) = typing.get_args(hint)  # tuple[X, ...]
        return tuple(_convert(list[item], node, where, path))
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(node, yaml.SequenceNode):
            raise InputError(path, "expected a list", node_line(node), where)
        return [_convert(item, child, f"{where}[{i}]", path) for i, child in enumerate(node.value)]
    if not isinstance(node, yaml.ScalarNode):
        raise InputError(path, f"expected a {hint.__name__}", node_line(node), where)
    value = yaml.safe_load(yaml.serialize(node))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise InputError(path, f"expected a finite number, got {value!r}", node_line(node), where)
    if (
        hint is float and isinstance(value, float) and abs(value) > FLOAT32_MAX
    ):  # tensors hold it as inf
        raise InputError(
            path, f"{value!r} overflows float32 (largest {FLOAT32_MAX:.4g})", node_line(node), where
        )
    if (
        hint is int
        and isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value) > INT64_MAX
    ):
        raise InputError(path, f"{value!r} does not fit a 64-bit integer", node_line(node), where)
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise InputError(path, f"expected a {hint.__name__}, got {value!r}", node_line(node), where)
    return value


def build_dataclass(cls: type, node: yaml.Node, where: str, path: Path) -> Any:
    if not isinstance(node, yaml.MappingNode):
        raise InputError(path, "expected a mapping", node_line(node), where or None)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    known = list(fields)
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        dotted = f"{where}.{key}" if where else key
        if key == PRECISION_ALIAS and "precision" in hints:  # `bf16: true|false`, the older key
            if "precision" in values:
                raise InputError(
                    path, "given twice (bf16 is an alias of precision)", node_line(key_node), dotted
                )
            values["precision"] = "bf16" if _convert(bool, value_node, dotted, path) else "float32"
            continue
        if key not in hints:
            raise InputError(
                path, f"unknown key (known: {', '.join(known)})", node_line(key_node), dotted
            )
        if key in values:
            raise InputError(
                path,
                "given twice" + (" (bf16 is an alias of precision)" if key == "precision" else ""),
                node_line(key_node),
                dotted,
            )
        values[key] = _convert(hints[key], value_node, dotted, path)
        _apply_check(fields[key], values[key], value_node, dotted, path)
    for name, f in fields.items():
        if (
            name not in values
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ):
            raise InputError(path, "missing", node_line(node), f"{where}.{name}" if where else name)
    return cls(**values)


def _apply_check(f: dataclasses.Field, value: Any, node: yaml.Node, where: str, path: Path) -> None:
    check: Check | None = f.metadata.get("check")
    if check is None:
        return
    if isinstance(value, (list, tuple)) and isinstance(
        node, yaml.SequenceNode
    ):  # point at the bad item
        for i, (item, child) in enumerate(zip(value, node.value)):
            if (why := check.problem(item)) is not None:
                raise InputError(path, why, node_line(child), f"{where}[{i}]")
    if (why := check.problem(value)) is not None:
        raise InputError(path, why, node_line(node), where)


def compose_yaml(path: str | Path, _extended: tuple[Path, ...] = ()) -> yaml.Node:
    """The YAML node tree of a config file (line numbers and file kept in each node), or a
    located error. `extends: BASE.yaml` (a path relative to the file) starts from that config:
    mappings merge key by key, and anything else the file gives (a list, a value, a loss spec)
    replaces the base's. Errors then point into whichever file a value came from."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: config file not found")
    stream = io.StringIO(read_text(path))
    stream.name = str(path)  # PyYAML names every mark after its stream
    try:
        node = yaml.compose(stream)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            path, f"invalid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None
        ) from None
    if node is None:
        raise InputError(path, "empty config")
    extends = (
        [(k, v) for k, v in node.value if k.value == "extends"]
        if isinstance(node, yaml.MappingNode)
        else []
    )
    if not extends:
        return node
    key, value = extends[-1]
    if len(extends) > 1 or not isinstance(value, yaml.ScalarNode) or not value.value:
        raise InputError(path, "expected one path to a base config", node_line(key), "extends")
    base_path = path.parent / value.value
    if not base_path.is_file():
        raise InputError(path, f"base config not found: {base_path}", node_line(value), "extends")
    chain = (*_extended, path.resolve())
    if base_path.resolve() in chain:
        raise InputError(
            path,
            f"extends itself ({' -> '.join(p.name for p in (*chain, base_path))})",
            node_line(value),
            "extends",
        )
    node.value = [(k, v) for k, v in node.value if k.value != "extends"]
    return _merged(compose_yaml(base_path, chain), node)


REPLACED = {
    "loss"
}  # a loss spec is one value (its keys are loss names, not fields): given, it replaces


def _merged(base: yaml.Node, override: yaml.Node) -> yaml.Node:
    if not (isinstance(base, yaml.MappingNode) and isinstance(override, yaml.MappingNode)):
        return override
    in_base = {k.value: v for k, v in base.value}
    overridden = {k.value for k, _ in override.value}
    kept = [(k, v) for k, v in base.value if k.value not in overridden]
    # the override's own entries stay as written (a key given twice there is still reported)
    entries = [
        (k, _merged(in_base[k.value], v) if k.value in in_base and k.value not in REPLACED else v)
        for k, v in override.value
    ]
    return yaml.MappingNode(override.tag, kept + entries, override.start_mark, override.end_mark)


def load_yaml(cls: type[T], path: str | Path) -> T:
    """A YAML file read into the dataclass `cls` (nested dataclasses, lists, optionals), every
    mistake reported with file, line and dotted field."""
    return build_dataclass(cls, compose_yaml(path), "", Path(path))


STR_TAG = "tag:yaml.org,2002:str"


def load_named(cls: type[T], path: str | Path, name_field: str | None = None) -> dict[str, T]:
    """A YAML file that maps names to entries of the dataclass `cls` (a catalogue), every mistake
    reported with file, line and `name.field`; with `name_field`, each entry's name is also set
    as that field."""
    path = Path(path)
    root = compose_yaml(path)
    if not isinstance(root, yaml.MappingNode):
        raise InputError(path, "expected a mapping of names to entries", node_line(root))
    entries: dict[str, T] = {}
    for key, value in root.value:
        if key.value in entries:
            raise InputError(path, "given twice", node_line(key), key.value)
        if name_field is not None and isinstance(value, yaml.MappingNode):
            field_key, name = (
                yaml.ScalarNode(STR_TAG, text, key.start_mark, key.end_mark)
                for text in (name_field, key.value)
            )
            value = yaml.MappingNode(
                value.tag, [(field_key, name), *value.value], value.start_mark, value.end_mark
            )
        entries[key.value] = build_dataclass(cls, value, key.value, path)
    return entries


def field_line(path: str | Path, dotted: str) -> int | None:
    """The line of a dotted field (`members[0].teacher`) in a YAML file, for error messages."""
    try:
        node = compose_yaml(path)
    except UserError:
        return None
    for part in dotted.replace("]", "").replace("[", ".").split("."):
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            node = None
        if node is None:
            return None
    return node_line(node)


def load_config(path: str | Path) -> RunConfig:
    return load_yaml(RunConfig, path)


def resolve_precisions(
    config: Any, override: str | None = None, device: str | None = "auto"
) -> dict[str, str]:
    """Replace every `precision: auto` in a config (nested dataclasses and lists) by what this
    machine runs (rankdistill.core.hardware), in place, so stage keys and records hold the resolved
    precision; `override` first sets every precision field to itself. Returns each field's
    dotted name -> its value and the reason for it."""
    from rankdistill.core.hardware import choose_precision

    reasons: dict[str, str] = {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                dotted = f"{where}.{f.name}" if where else f.name
                if f.name == "precision":
                    field_device = getattr(node, "device", None) or device
                    choice = choose_precision(override or node.precision, field_device)
                    if override and override != "auto":
                        choice = type(choice)(choice.precision, "--precision on the command line")
                    node.precision = choice.precision
                    reasons[dotted] = f"{choice.precision} ({choice.reason})"
                else:
                    walk(getattr(node, f.name), dotted)

    walk(config, "")
    return reasons


def config_dict(config: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)

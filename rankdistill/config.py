"""Typed run configs loaded from YAML (configs/*.yaml).

Every mistake is reported with the file, the line and the dotted field name, e.g.
`configs/x.yaml:7: field 'evaluate.retreivers': unknown key (known: datasets, split, ...)`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rankdistill.errors import InputError, UserError
from rankdistill.hardware import PRECISIONS
from rankdistill.textfile import read_text

T = TypeVar("T")

PRECISION_ALIAS = "bf16"


@dataclass
class EvaluateConfig:
    """Which retrievers to evaluate on which datasets."""

    datasets: list[str] = field(default_factory=lambda: ["scifact"])
    split: str | None = None  # None: each dataset's default split (test for BEIR)
    retrievers: list[str] = field(default_factory=lambda: ["bm25", "dense:all-MiniLM-L6-v2"])
    k: int = 100
    batch_size: int = 32
    max_length: int | None = None
    precision: str = "auto"  # model retrievers: auto | float32 | bf16 | fp16 (`bf16: true|false` is an alias)
    backend: str = "auto"  # dense retrievers: auto | torch | onnx | onnx-int8 | openvino


@dataclass
class RunConfig:
    name: str = "default"
    seed: int = 13
    data_root: str | None = None  # folder of BEIR datasets; $RANKDISTILL_DATA if unset
    output_dir: str = "runs"
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)

    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


def node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _convert(hint: Any, node: yaml.Node, where: str, path: Path) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return None
        return _convert(options[0], node, where, path)
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
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise InputError(path, f"expected a {hint.__name__}, got {value!r}", node_line(node), where)
    return value


def build_dataclass(cls: type, node: yaml.Node, where: str, path: Path) -> Any:
    if not isinstance(node, yaml.MappingNode):
        raise InputError(path, "expected a mapping", node_line(node), where or None)
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        dotted = f"{where}.{key}" if where else key
        if key == PRECISION_ALIAS and "precision" in hints:  # `bf16: true|false`, the older key
            if "precision" in values:
                raise InputError(path, "given twice (bf16 is an alias of precision)", node_line(key_node), dotted)
            values["precision"] = "bf16" if _convert(bool, value_node, dotted, path) else "float32"
            continue
        if key not in hints:
            raise InputError(path, f"unknown key (known: {', '.join(known)})", node_line(key_node), dotted)
        if key in values:
            raise InputError(path, "given twice" + (" (bf16 is an alias of precision)" if key == "precision" else ""), node_line(key_node), dotted)
        values[key] = _convert(hints[key], value_node, dotted, path)
        if key == "precision" and values[key] not in PRECISIONS:
            raise InputError(path, f"expected one of {', '.join(PRECISIONS)}, got {values[key]!r}", node_line(value_node), dotted)
    return cls(**values)


def compose_yaml(path: str | Path) -> yaml.Node:
    """The YAML node tree of a config file (line numbers kept), or a located error."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: config file not found")
    try:
        node = yaml.compose(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, f"invalid YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None) from None
    if node is None:
        raise InputError(path, "empty config")
    return node


def load_yaml(cls: type[T], path: str | Path) -> T:
    """A YAML file read into the dataclass `cls` (nested dataclasses, lists, optionals), every
    mistake reported with file, line and dotted field."""
    return build_dataclass(cls, compose_yaml(path), "", Path(path))


def field_line(path: str | Path, dotted: str) -> int | None:
    """The line of a dotted field (`members[0].teacher`) in a YAML file, for error messages."""
    try:
        node = yaml.compose(read_text(path))
    except (UserError, yaml.YAMLError):
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
    config = load_yaml(RunConfig, path)
    check_run_config(config, Path(path))
    return config


def check_run_config(config: RunConfig, path: Path) -> None:
    if not config.evaluate.datasets:
        raise InputError(path, "needs at least one dataset", field="evaluate.datasets")
    if not config.evaluate.retrievers:
        raise InputError(path, "needs at least one retriever", field="evaluate.retrievers")
    for name in ("k", "batch_size"):
        if getattr(config.evaluate, name) < 1:
            raise InputError(path, "must be >= 1", field=f"evaluate.{name}")


def resolve_precisions(config: Any, override: str | None = None, device: str | None = "auto") -> dict[str, str]:
    """Replace every `precision: auto` in a config (nested dataclasses and lists) by what this
    machine runs (rankdistill.hardware), in place, so stage keys and records hold the resolved
    precision; `override` first sets every precision field to itself. Returns each field's
    dotted name -> its value and the reason for it."""
    from rankdistill.hardware import choose_precision

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

"""Imports flow one way (ARCHITECTURE.md): a module imports only its own layer and layers to its
left, at module level or inside functions alike, and no two packages import each other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rankdistill"
CHAIN = [
    "core",
    "data",
    "encoders",
    "retrieval",
    "teachers",
    "store",
    "mining",
    "losses",
    "training",
    "indexes",
    "evaluation",
    "pipeline",
    "cli",
]
# modules and packages directly under rankdistill/ -> their layer
LAYER_OF = {
    "__init__": "api",  # the lazy public API names everything and imports nothing at import time
    "core": "core",
    "data": "data",
    "encoders": "encoders",
    "retrieval": "retrieval",
    "teachers": "teachers",
    "store": "store",
    "mining": "mining",
    "losses": "losses",
    "training": "training",
    "indexes": "indexes",
    "metrics": "retrieval",  # scoring a run against qrels: evaluation, and training's dev curves, use it
    "evaluation": "evaluation",
    "pipeline": "pipeline",
    "cli": "cli",
}


def unit_of(module: str) -> str:
    """`rankdistill.teachers.ensemble` -> `teachers`."""
    return module.split(".")[1] if module.count(".") >= 1 else module


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.startswith("rankdistill.")
        ):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.module == "rankdistill":
            found.extend((node.lineno, f"rankdistill.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, alias.name)
                for alias in node.names
                if alias.name.startswith("rankdistill.")
            )
    return found


def edges() -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, where) for every import between two units."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        source = unit_of(".".join(relative.parts))
        for line, module in imports(path):
            target = unit_of(module)
            if target != source and target != "__version__":
                found.append((source, target, f"{relative}.py:{line} imports {module}"))
    return found


def test_every_unit_has_a_layer() -> None:
    units = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").is_file())
    }
    assert units - set(LAYER_OF) == set(), (
        "give each new top-level module or package a layer here and in ARCHITECTURE.md"
    )


def test_imports_follow_the_chain() -> None:
    rank = {layer: i for i, layer in enumerate(CHAIN)}
    wrong = [
        where
        for source, target, where in edges()
        if LAYER_OF[source] != "api" and rank[LAYER_OF[target]] > rank[LAYER_OF[source]]
    ]
    assert wrong == []


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for source, target, _ in edges():
        graph.setdefault(source, set()).add(target)
    cycles = [(a, b) for a, targets in graph.items() for b in targets if a in graph.get(b, set())]
    assert cycles == []

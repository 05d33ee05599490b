"""The index-kind registry. A module that implements an index kind registers it:

    register_index_kind("seismic", build=build_seismic, load=SeismicStructure.load, sparse=True,
                        params={"query_cut": 10, "heap_factor": 0.9, "rescore": 2})

`build(spec, chunks, dimension, ...)` returns (structure, timings), taking any of `train_size`,
`seed` and `folder` it names; `load(folder, spec)` returns the saved structure; `params` are the
kind's search parameters with their defaults (the only ones a spec may give it); `sparse`: it indexes SPLADE vectors. A spec whose
build string is no registered kind is a faiss `index_factory` string (the "faiss" kind).
`rankdistill.indexes` imports every module of the package, so a new kind is one new module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FAISS = "faiss"


@dataclass(frozen=True)
class IndexKind:
    name: str
    build: Callable[..., tuple[Any, dict[str, float]]]
    load: Callable[..., Any]
    sparse: bool = False
    params: dict[str, float] = field(default_factory=dict)


INDEX_KINDS: dict[str, IndexKind] = {}


def register_index_kind(
    name: str,
    *,
    build: Callable[..., tuple[Any, dict[str, float]]],
    load: Callable[..., Any],
    sparse: bool = False,
    params: dict[str, float] | None = None,
) -> IndexKind:
    known = INDEX_KINDS.get(name)
    if known is not None and known.build.__qualname__ != build.__qualname__:
        raise ValueError(f"index kind {name!r} is registered already (by {known.build.__module__})")
    INDEX_KINDS[name] = IndexKind(name, build, load, sparse, dict(params or {}))
    return INDEX_KINDS[name]


def index_kinds() -> dict[str, IndexKind]:
    """Every registered kind: the modules of `rankdistill.indexes` register theirs when imported,
    which happens here, the first time a kind is looked up."""
    from rankdistill.core.plugins import import_submodules

    import_submodules("rankdistill.indexes")
    return INDEX_KINDS


def own_kind(build: str) -> str:
    """The kind a spec's build string names: a registered one, else faiss."""
    return build if build in index_kinds() and build != FAISS else FAISS

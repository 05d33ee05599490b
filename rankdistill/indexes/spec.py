"""Index specs: one string names an index and how it is searched.

    SPEC   := BUILD [":" PARAMS]
    BUILD  := a faiss index_factory string (Flat, HNSW32, IVF256,PQ32, SQ8, ...)
              | binary     sign bits, Hamming shortlist of rescore*k, float rescoring
              | inverted   exact inverted index over sparse (SPLADE) vectors: CSR posting lists
              | seismic    Seismic's approximate blocked inverted index (pyseismic-lsr), shortlist
                           of rescore*k rescored with float32 values
    PARAMS := key=value[,key=value...]   search-time settings, e.g. IVF4096,Flat:nprobe=32,
              and for HNSW the build-time efConstruction (HNSW32:efConstruction=160,efSearch=64)

faiss parameters are those of faiss.ParameterSpace (nprobe, efSearch, quantizer_efSearch,
k_factor, ...) and are checked against the built index. A benchmark may sweep a parameter
with `/`: `HNSW32:efSearch=16/64/256` stands for three specs sharing one build.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace

import faiss

from rankdistill.core.errors import UserError

Kind = (
    str  # "faiss" or a registered kind (rankdistill/indexes/registry.py): binary, inverted, seismic
)


def own_params(kind: Kind) -> dict[str, float] | None:
    """A registered kind's search parameters and their defaults (None for faiss, whose
    parameters are faiss's own)."""
    from rankdistill.indexes.registry import FAISS, index_kinds

    kinds = index_kinds()
    return None if kind == FAISS or kind not in kinds else kinds[kind].params


# Parameters that change what is built rather than how it is searched (faiss's factory strings
# have no syntax for them): efConstruction, the candidate list size when linking HNSW nodes.
BUILD_PARAMS = {"efConstruction"}
INTEGER_PARAMS = {
    "rescore",
    "query_cut",
    "nprobe",
    "efSearch",
    "quantizer_efSearch",
    "max_codes",
    "efConstruction",
}


@dataclass(frozen=True)
class IndexSpec:
    build: str
    kind: Kind
    params: dict[str, float] = field(default_factory=dict)
    build_params: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The canonical spec string (build parameters first, then search parameters)."""
        params = {**self.build_params, **self.params}
        return self.build + (":" + format_params(params) if params else "")

    @property
    def build_key(self) -> str:
        """What determines the built structure: specs with one build_key share one build."""
        return self.build + (":" + format_params(self.build_params) if self.build_params else "")

    @property
    def is_sparse(self) -> bool:
        from rankdistill.indexes.registry import index_kinds

        kinds = index_kinds()
        return self.kind in kinds and kinds[self.kind].sparse

    def search_params(self) -> dict[str, float]:
        """The parameters search uses: our kinds' defaults overridden by the spec's."""
        return {**(own_params(self.kind) or {}), **self.params}

    def with_params(self, params: dict[str, float]) -> IndexSpec:
        """The same build searched with `params` (over the spec's own search settings)."""
        if BUILD_PARAMS & set(params):
            raise UserError(
                f"{', '.join(sorted(BUILD_PARAMS & set(params)))} is fixed when the index is built; rebuild to change it"
            )
        merged = {**self.params, **params}
        _check_params(self.kind, merged, self.build)
        return replace(self, params=merged)


def format_params(params: dict[str, float]) -> str:
    return ",".join(f"{key}={_number_text(value)}" for key, value in params.items())


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parse_params(
    text: str, spec: str = "", sweep: bool = False
) -> dict[str, list[float]] | dict[str, float]:
    """`nprobe=16,efSearch=64` -> {"nprobe": 16, "efSearch": 64}; with `sweep`, each value may be
    `a/b/c` and the result maps each key to a list of values."""
    where = f"index spec {spec!r}" if spec else "search parameters"
    params: dict = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise UserError(f"{where}: expected key=value, got {item!r} (e.g. nprobe=16)")
        if key in params:
            raise UserError(f"{where}: {key} given twice")
        values = []
        for one in value.split("/") if sweep else [value]:
            try:
                number = float(one)
            except ValueError:
                raise UserError(f"{where}: {key} must be a number, got {one!r}") from None
            if key in INTEGER_PARAMS and not number.is_integer():
                raise UserError(f"{where}: {key} must be a whole number, got {one!r}")
            values.append(int(number) if number.is_integer() else number)
        params[key] = values if sweep else values[0]
    return params


def _check_params(kind: Kind, params: dict[str, float], spec: str) -> None:
    if kind != "faiss" and BUILD_PARAMS & set(params):
        raise UserError(f"index spec {spec!r}: efConstruction applies to faiss HNSW indexes only")
    if (own := own_params(kind)) is not None:
        unknown = sorted(set(params) - set(own))
        if unknown:
            known = ", ".join(own)
            raise UserError(
                f"index spec {spec!r}: unknown parameter {unknown[0]!r} for {kind} (known: {known})"
            )
    if params.get("rescore", 1) < 1:
        raise UserError(f"index spec {spec!r}: rescore must be >= 1")
    if not 0 < params.get("heap_factor", 1.0) <= 1.0:
        raise UserError(f"index spec {spec!r}: heap_factor must be in (0, 1]")
    if params.get("query_cut", 0) < 0:
        raise UserError(f"index spec {spec!r}: query_cut must be >= 0 (0 = every query term)")


def parse_spec(text: str) -> IndexSpec:
    """Parse one spec (no sweeps). faiss factory strings are checked against faiss when the
    dimension is known: see `check_factory`."""
    specs = expand_spec(text)
    if len(specs) != 1:
        raise UserError(f"index spec {text!r}: a sweep (a/b/c) is only accepted by `index bench`")
    return specs[0]


def expand_spec(text: str) -> list[IndexSpec]:
    """Parse a spec that may sweep parameters (`IVF256,Flat:nprobe=4/16`) into one spec per
    combination of values, sharing one build."""
    text = text.strip()
    build, _, param_text = text.partition(":")
    build = build.strip()
    if not build:
        raise UserError(
            f"index spec {text!r}: empty; expected e.g. Flat, HNSW32, IVF256,PQ32, binary, inverted or seismic"
        )
    from rankdistill.indexes.registry import own_kind

    kind = own_kind(build)
    swept = parse_params(param_text, text, sweep=True)
    keys = list(swept)
    specs = []
    for values in itertools.product(*(swept[key] for key in keys)):
        params = dict(zip(keys, values))
        _check_params(kind, params, text)
        build_params = {key: value for key, value in params.items() if key in BUILD_PARAMS}
        search = {key: value for key, value in params.items() if key not in BUILD_PARAMS}
        specs.append(IndexSpec(build, kind, search, build_params))
    return specs


def faiss_message(exc: BaseException) -> str:
    """The readable part of a faiss C++ exception (after its 'at FILE.cpp:LINE:' prefix)."""
    text = str(exc).strip()
    match = re.search(r"\.(?:cpp|h):\d+: (.*)", text, re.S)
    return (match.group(1) if match else text).strip() or "rejected"


def check_factory(spec: IndexSpec, dimension: int) -> None:
    """Fail early (before any encoding) when faiss cannot make the factory string."""
    if spec.kind != "faiss":
        return
    try:
        index = faiss.index_factory(dimension, spec.build, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        detail = faiss_message(exc)
        raise UserError(
            f"index spec {spec.build!r}: faiss index_factory cannot build it for dimension {dimension} ({detail}); "
            "expected e.g. Flat, HNSW32, IVF256,PQ32, SQ8, binary, inverted or seismic"
        ) from None
    space = faiss.ParameterSpace()  # the search parameters, on the empty index
    for key, value in spec.params.items():
        try:
            space.set_index_parameter(index, key, float(value))
        except RuntimeError as exc:
            raise UserError(
                f"index spec {spec.text!r}: faiss cannot set search parameter {key}={value} on {spec.build} "
                f"({faiss_message(exc)}); IVF indexes take nprobe, HNSW indexes efSearch"
            ) from None

"""Asymmetric dense students: one encoder for queries, another for documents, saved as a plain
sentence-transformers folder whose single module is ST's `Router` with a "query" and a
"document" route (`model.encode_query` / `model.encode_document` pick the route).

Query-side distillation (rankdistill.training.query_side) trains only the query route; the
document route is the starting model, untouched, so an index built by the starting model stays
valid for the student: no re-indexing. `rankdistill_asymmetric.json` in the folder records that:

    {"document_weights_sha256": the starting model's weights hash (what indexes record),
     "document_route_sha256":   weights hash of the saved document route's files (checked on load),
     "document_model": name of the starting model, "query_max_length": ..., "document_max_length": ...}

`document_weights(path)` is the identity an index compares with: for an asymmetric student the
starting model's hash, so the starting model's index and the student's own builds agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rankdistill.core.errors import UserError
from rankdistill.core.fingerprints import weights_hash

ASYMMETRIC_FILE = "rankdistill_asymmetric.json"
QUERY, DOCUMENT = "query", "document"


def router_of(model: Any) -> Any | None:
    """The model's Router module when it is a query/document Router student, else None."""
    from sentence_transformers.base.modules import Router

    modules = list(model) if hasattr(model, "__iter__") else []
    if (
        len(modules) == 1
        and isinstance(modules[0], Router)
        and {QUERY, DOCUMENT} <= set(modules[0].sub_modules)
    ):
        return modules[0]
    return None


def is_asymmetric(model: Any) -> bool:
    return router_of(model) is not None


def route_input(model: Any, route: str) -> Any:
    """The first (tokenising) module of a route: the Transformer holding its max length."""
    return router_of(model).sub_modules[route][0]


def set_max_length(model: Any, max_length: int | None) -> None:
    """Set a model's max length. For an asymmetric student it is the document route's only: an
    index's max length is about documents, and the query route keeps the length it was saved with."""
    if not max_length:
        return
    if is_asymmetric(model):
        route_input(model, DOCUMENT).max_seq_length = max_length
    else:
        model.max_seq_length = max_length


def document_max_length(model: Any) -> int | None:
    return (
        route_input(model, DOCUMENT).max_seq_length
        if is_asymmetric(model)
        else model.max_seq_length
    )


def read_record(path: str | Path) -> dict[str, Any] | None:
    file = Path(path) / ASYMMETRIC_FILE
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None


def document_weights(path: str | Path) -> str:
    """The weights hash that identifies a model's document vectors (see the module docstring).
    UserError when an asymmetric student's document route is not the one it was saved with."""
    record = read_record(path)
    if record is None:
        return weights_hash(path)
    route = Path(path) / record["document_route"]
    if weights_hash(route) != record["document_route_sha256"]:
        raise UserError(
            f"{path}: the document route {route.name} was changed after saving ({ASYMMETRIC_FILE} records other weights)"
        )
    return record["document_weights_sha256"]


def save_asymmetric(
    query_model: Any, document_model: Any, output: str | Path, record: dict[str, Any]
) -> Path:
    """Save a Router student (query route from `query_model`, document route from
    `document_model`, both SentenceTransformers) into `output` plus ASYMMETRIC_FILE; `record`
    must hold `document_weights_sha256` and `document_model`."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Router

    from rankdistill.core.atomic import atomic_write_json

    router = Router.for_query_document(
        query_modules=list(query_model), document_modules=list(document_model)
    )
    student = SentenceTransformer(
        modules=[router],
        device=str(query_model.device),
        similarity_fn_name=query_model.similarity_fn_name,
    )
    output = Path(output)
    student.save(str(output))
    routes = json.loads((output / "router_config.json").read_text(encoding="utf-8"))["structure"]
    document_route = routes[DOCUMENT][0]
    atomic_write_json(
        output / ASYMMETRIC_FILE,
        {
            **record,
            "document_route": document_route,
            "document_route_sha256": weights_hash(output / document_route),
            "query_max_length": route_input(student, QUERY).max_seq_length,
            "document_max_length": route_input(student, DOCUMENT).max_seq_length,
        },
    )
    return output

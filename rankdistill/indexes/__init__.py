"""Indexes over a student's vectors: faiss (any index_factory string) and binary codes with float
rescoring for dense students; an exact CSR inverted index and Seismic's approximate one for
SPLADE students. Built in resumable chunks, saved with a manifest, searched as a retriever,
benchmarked against exact search.

    rankdistill index build --model M --dataset D --spec SPEC --output DIR
    rankdistill index search --index DIR --queries queries.jsonl --output run.trec
    rankdistill index bench --model M --dataset D --spec Flat --spec HNSW32:efSearch=16/64
"""

import importlib
import pkgutil

from rankdistill.indexes.build import BuildSettings, build_index
from rankdistill.indexes.load import SearchIndex, open_index
from rankdistill.indexes.registry import INDEX_KINDS, register_index_kind
from rankdistill.indexes.spec import IndexSpec, expand_spec, parse_spec

# every module of the package registers its index kinds when imported: a new kind is one module
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "BuildSettings",
    "INDEX_KINDS",
    "register_index_kind",
    "IndexSpec",
    "SearchIndex",
    "build_index",
    "expand_spec",
    "open_index",
    "parse_spec",
]

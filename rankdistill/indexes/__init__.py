"""Indexes over a student's vectors: faiss (any index_factory string) and binary codes with float
rescoring for dense students; an exact CSR inverted index and Seismic's approximate one for
SPLADE students. Built in resumable chunks, saved with a manifest, searched as a retriever,
benchmarked against exact search.

    rankdistill index build --model M --dataset D --spec SPEC --output DIR
    rankdistill index search --index DIR --queries queries.jsonl --output run.trec
    rankdistill index bench --model M --dataset D --spec Flat --spec HNSW32:efSearch=16/64
"""

from rankdistill.indexes.build import BuildSettings, build_index
from rankdistill.indexes.load import SearchIndex, open_index
from rankdistill.indexes.registry import INDEX_KINDS, register_index_kind
from rankdistill.indexes.spec import IndexSpec, expand_spec, parse_spec

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

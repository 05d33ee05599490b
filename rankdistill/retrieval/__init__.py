"""First-stage retrievers behind one interface, named by a spec string:

bm25                   bm25s, English stemming (options: bm25:k1=0.9,b=0.4)
dense:MODEL            SentenceTransformer + exact FAISS inner product (cosine if the model is)
sparse:MODEL           SPLADE SparseEncoder + exact sparse dot product
scoreddocs:irds:ID     the scored documents an ir_datasets dataset ships (candidates for mining)
docpairs:irds:ID       the documents of its training pairs (MS MARCO's triples)
"""

from __future__ import annotations

import math

from rankdistill.core.errors import UserError
from rankdistill.encoders.models import EncodingSettings
from rankdistill.retrieval.base import Corpus, Results, Retriever, top_k

KINDS = ("bm25", "dense", "sparse", "scoreddocs", "docpairs")


def _bm25_options(text: str, spec: str) -> dict[str, float]:
    options: dict[str, float] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in ("k1", "b"):
            raise UserError(f"retriever {spec!r}: unknown BM25 option {key!r} (use k1=..., b=...)")
        try:
            options[key] = float(value)
        except ValueError:
            raise UserError(f"retriever {spec!r}: {key} must be a number, got {value!r}") from None
        if not math.isfinite(options[key]) or options[key] < 0 or (key == "b" and options[key] > 1):
            raise UserError(
                f"retriever {spec!r}: {key} must be {'in [0, 1]' if key == 'b' else 'a finite number >= 0'}, got {value!r}"
            )
    return options


def build_retriever(
    spec: str, settings: EncodingSettings | None = None, engine: str = "local"
) -> Retriever:
    """A retriever from its spec; `settings` apply to models (`backend` to dense ones only), and
    `engine: ray` encodes a dense retriever's streamed corpus on Ray.

    rd.build_retriever("dense:all-MiniLM-L6-v2", rd.EncodingSettings(batch_size=64, precision="bf16"))
    """
    kind, _, argument = spec.partition(":")
    if kind == "bm25":
        from rankdistill.retrieval.bm25 import BM25Retriever

        retriever = BM25Retriever(**_bm25_options(argument, spec))
        retriever.spec = spec
        return retriever
    if kind in ("dense", "sparse"):
        if not argument:
            raise UserError(f"retriever {spec!r}: name a model, e.g. {kind}:all-MiniLM-L6-v2")
        if kind == "dense":
            from rankdistill.retrieval.dense import DenseRetriever

            return DenseRetriever(argument, settings, engine)
        from rankdistill.retrieval.sparse import SparseRetriever

        return SparseRetriever(argument, settings)
    if kind in ("scoreddocs", "docpairs"):
        from rankdistill.retrieval.irds import IrdsCandidates

        return IrdsCandidates(kind, argument)
    raise UserError(
        f"unknown retriever {spec!r}: expected one of {', '.join(KINDS)} (e.g. dense:all-MiniLM-L6-v2)"
    )


__all__ = ["Corpus", "KINDS", "Results", "Retriever", "build_retriever", "top_k"]

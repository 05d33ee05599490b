"""The dev evaluation run during training: sentence-transformers' IR evaluators on a DevSet.

Dense students get `InformationRetrievalEvaluator` (one per Matryoshka dimension when training
with MatryoshkaLoss, named `dev_dim<d>`), sparse students `SparseInformationRetrievalEvaluator`,
which also reports the average active (non-zero) dimensions of queries and documents.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from rankdistill.training.data import DevSet


def dev_evaluator(dev: DevSet, kind: str, matryoshka_dims: list[int], batch_size: int) -> Any:
    common = {"queries": dev.queries, "corpus": dev.corpus, "relevant_docs": dev.relevant, "batch_size": batch_size, "write_csv": False}
    if kind == "sparse":
        from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

        return SparseInformationRetrievalEvaluator(name="dev", **common)
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator, SequentialEvaluator

    if not matryoshka_dims:
        return InformationRetrievalEvaluator(name="dev", **common)
    dims = sorted(set(matryoshka_dims), reverse=True)
    return SequentialEvaluator([InformationRetrievalEvaluator(name=f"dev_dim{d}", truncate_dim=d, **common) for d in dims])


def average_nonzeros(model: nn.Module, queries: list[str], documents: list[str], batch_size: int = 32) -> dict[str, float]:
    """Mean active (non-zero) dimensions of a sparse student's query and document vectors."""
    q = model.encode_query(queries, batch_size=batch_size, convert_to_tensor=True)
    d = model.encode_document(documents, batch_size=batch_size, convert_to_tensor=True)
    return {
        "query_active_dims": model.sparsity(q)["active_dims"],
        "document_active_dims": model.sparsity(d)["active_dims"],
        "queries": len(queries),
        "documents": len(documents),
    }

"""The dev evaluation run during training: sentence-transformers' IR evaluators on a DevSet.

Dense students get `InformationRetrievalEvaluator` (one per Matryoshka dimension when training
with MatryoshkaLoss, named `dev_dim<d>`), sparse students `SparseInformationRetrievalEvaluator`,
which also reports the average active (non-zero) dimensions of queries and documents.
Cross-encoder students rerank each dev query's BM25 candidates (`RerankDevEvaluator`), scored by
trec_eval like the evaluate stage, beside BM25's own nDCG@10 on the same queries.
"""

from __future__ import annotations

from typing import Any

from sentence_transformers.base.evaluation.evaluator import BaseEvaluator
from torch import nn

from rankdistill.training.data import DevSet


def dev_evaluator(dev: DevSet, kind: str, matryoshka_dims: list[int], batch_size: int) -> Any:
    if kind == "cross-encoder":
        return RerankDevEvaluator(dev, batch_size)
    common = {
        "queries": dev.queries,
        "corpus": dev.corpus,
        "relevant_docs": dev.relevant,
        "batch_size": batch_size,
        "write_csv": False,
    }
    if kind == "sparse":
        from sentence_transformers.sparse_encoder.evaluation import (
            SparseInformationRetrievalEvaluator,
        )

        return SparseInformationRetrievalEvaluator(name="dev", **common)
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
        SequentialEvaluator,
    )

    if not matryoshka_dims:
        return InformationRetrievalEvaluator(name="dev", **common)
    dims = sorted(set(matryoshka_dims), reverse=True)
    return SequentialEvaluator(
        [InformationRetrievalEvaluator(name=f"dev_dim{d}", truncate_dim=d, **common) for d in dims]
    )


def average_nonzeros(
    model: nn.Module, queries: list[str], documents: list[str], batch_size: int = 32
) -> dict[str, float]:
    """Mean active (non-zero) dimensions of a sparse student's query and document vectors."""
    q = model.encode_query(queries, batch_size=batch_size, convert_to_tensor=True)
    d = model.encode_document(documents, batch_size=batch_size, convert_to_tensor=True)
    return {
        "query_active_dims": model.sparsity(q)["active_dims"],
        "document_active_dims": model.sparsity(d)["active_dims"],
        "queries": len(queries),
        "documents": len(documents),
    }


class RerankDevEvaluator(BaseEvaluator):
    """nDCG@10 of a cross-encoder reranking each dev query's candidates (`dev.candidates`, best
    first), on the student's raw logits; `dev_bm25_ndcg@10` is the candidates' own order."""

    def __init__(self, dev: DevSet, batch_size: int = 32, name: str = "dev"):
        super().__init__()
        if dev.candidates is None:
            raise ValueError(
                "a reranking dev set needs each query's candidates (training.data.with_bm25_candidates)"
            )
        from rankdistill.metrics import evaluate_run

        self.dev, self.batch_size, self.name = dev, batch_size, name
        self.qrels = {q: dict.fromkeys(docs, 1) for q, docs in dev.relevant.items()}
        first = {
            q: {d: float(len(ids) - i) for i, d in enumerate(ids)}
            for q, ids in dev.candidates.items()
        }
        self.base = evaluate_run(self.qrels, first).aggregate["nDCG@10"]
        self.primary_metric = "ndcg@10"

    def __call__(
        self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        import torch

        from rankdistill.metrics import evaluate_run

        pairs = [(q, d) for q, ids in self.dev.candidates.items() for d in ids]
        scores = model.predict(
            [(self.dev.queries[q], self.dev.corpus[d]) for q, d in pairs],
            batch_size=self.batch_size,
            activation_fn=torch.nn.Identity(),
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        results: dict[str, dict[str, float]] = {q: {} for q in self.dev.candidates}
        for (q, d), score in zip(pairs, scores.tolist()):
            results[q][d] = score
        metrics = {
            "ndcg@10": evaluate_run(self.qrels, results).aggregate["nDCG@10"],
            "bm25_ndcg@10": self.base,
        }
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

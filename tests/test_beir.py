"""Our metrics against beir's own evaluation on the same runs, and rankdistill retrievers and
indexes used through beir's search interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankdistill.data import open_dataset
from rankdistill.encoders.models import EncodingSettings
from rankdistill.evaluation import evaluate_retriever
from rankdistill.metrics import evaluate_run
from rankdistill.retrieval.beir_search import BeirSearch
from tests.conftest import write_beir

pytest.importorskip("beir")
from beir.retrieval.evaluation import EvaluateRetrieval  # noqa: E402


def beir_metrics(qrels: dict, results: dict) -> dict[str, float]:
    """nDCG@10, R@100, MRR@10 and MAP@100 as beir computes them."""
    copied = {q: dict(hits) for q, hits in results.items()}  # beir pops identical ids in place
    ndcg, _map, recall, _ = EvaluateRetrieval.evaluate(
        qrels, copied, [10, 100], ignore_identical_ids=False
    )
    mrr = EvaluateRetrieval.evaluate_custom(qrels, copied, [10], metric="mrr")
    return {
        "nDCG@10": ndcg["NDCG@10"],
        "R@100": recall["Recall@100"],
        "MRR@10": mrr["MRR@10"],
        "MAP@100": _map["MAP@100"],
    }


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["bm25", "bm25:k1=0.9,b=0.4"])
def test_metrics_equal_beirs_on_real_scifact_runs(shared_data: Path, spec: str) -> None:
    """Real SciFact test runs (300 queries, 100 hits each): ours and beir's agree to 4 decimals."""
    evaluation = evaluate_retriever(open_dataset("scifact", "test", shared_data), spec)
    dataset = open_dataset("scifact", "test", shared_data)
    ours = evaluation.result.aggregate
    theirs = beir_metrics(dataset.qrels, evaluation.results)
    assert evaluation.result.num_queries == 300
    for name in ("nDCG@10", "R@100", "MRR@10", "MAP@100"):
        assert round(ours[name], 4) == round(theirs[name], 4), (name, ours[name], theirs[name])


@pytest.mark.slow
def test_bm25_through_beirs_evaluate_retrieval(shared_data: Path) -> None:
    """beir's EvaluateRetrieval drives our BM25 through the adapter: the same run, the same scores."""
    dataset = open_dataset("scifact", "test", shared_data)
    retriever = EvaluateRetrieval(BeirSearch("bm25"), k_values=[10, 100])
    results = retriever.retrieve(dataset.corpus, dataset.queries)
    direct = evaluate_retriever(dataset, "bm25")
    assert results == direct.results
    ndcg, _, _, _ = retriever.evaluate(dataset.qrels, results, retriever.k_values)
    assert round(ndcg["NDCG@10"], 4) == round(direct.result.aggregate["nDCG@10"], 4)


def test_an_index_through_beirs_evaluate_retrieval(tmp_path: Path, tiny_dense_model: str) -> None:
    """A built index (a student's, here a tiny real bi-encoder's) as a beir retriever: beir gets
    the index's own hits; a corpus the index was not built from is refused."""
    from rankdistill.core.errors import UserError
    from rankdistill.evaluation.indexes import evaluate_index
    from rankdistill.indexes.build import BuildSettings, build_index
    from rankdistill.indexes.load import open_index

    folder = write_beir(tmp_path / "tiny")
    build_index(
        tiny_dense_model,
        str(folder),
        "Flat",
        tmp_path / "idx",
        settings=BuildSettings(EncodingSettings(precision="float32"), chunk_size=4),
        progress=False,
    )
    dataset = open_dataset(str(folder))
    index = open_index(tmp_path / "idx")
    retriever = EvaluateRetrieval(BeirSearch(index), k_values=[1, 3, 10])
    results = retriever.retrieve(dataset.corpus, dataset.queries)
    expected = evaluate_index(dataset, index, 10)
    assert results == expected.results
    ndcg, _, _, _ = retriever.evaluate(dataset.qrels, results, retriever.k_values)
    assert round(ndcg["NDCG@10"], 4) == round(
        evaluate_run(dataset.qrels, results).aggregate["nDCG@10"], 4
    )
    with pytest.raises(UserError, match="another corpus"):
        BeirSearch(index).search({"other": {"title": "", "text": "x"}}, dataset.queries, 10)

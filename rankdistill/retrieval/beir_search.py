"""beir's search interface over a rankdistill retriever, so a beir script can use a distilled
student, a built index or any retriever spec where it would use one of beir's models:

    from beir.retrieval.evaluation import EvaluateRetrieval
    from rankdistill.retrieval.beir_search import BeirSearch
    from rankdistill.indexes.load import open_index

    retriever = EvaluateRetrieval(BeirSearch(open_index("idx/student")), k_values=[10, 100])
    results = retriever.retrieve(corpus, queries)          # beir's corpus and queries dicts
    ndcg, _map, recall, precision = retriever.evaluate(qrels, results, retriever.k_values)

beir is not imported here: `EvaluateRetrieval` only calls `search`. Scores are the retriever's own
(its model's similarity): beir's `score_function` is accepted and not used.
"""

from __future__ import annotations

from typing import Any

from rankdistill.retrieval.base import Corpus, Results, Retriever


class BeirSearch:
    """Wraps a Retriever (anything with `index(corpus)` and `search(queries, k)`: a retriever
    spec's, a SearchIndex, ...) or builds one from a spec string (`dense:runs/x/student`)."""

    def __init__(self, retriever: Retriever | str, **build_options: Any):
        if isinstance(retriever, str):
            from rankdistill.retrieval import build_retriever

            retriever = build_retriever(retriever, **build_options)
        self.retriever = retriever
        self._indexed: Corpus | None = None

    def search(
        self,
        corpus: Corpus,
        queries: dict[str, str],
        top_k: int,
        score_function: str | None = None,
        **kwargs: Any,
    ) -> Results:
        """The top `top_k` documents of `corpus` per query, best first; the corpus is indexed
        once per corpus object (an index only checks it is the one it was built from)."""
        if corpus is not self._indexed:
            self.retriever.index(corpus)
            self._indexed = corpus
        return self.retriever.search(queries, top_k)

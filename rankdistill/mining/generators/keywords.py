"""`keywords[?k=6&n=1]`: the document's `k` terms with the highest BM25 weight, as a keyword query.

A term's weight in a document is the BM25 score a one-term query would get there (idf times
saturated term frequency, `retrieval.bm25.BM25Retriever` over the whole corpus: Snowball stems,
English stopwords, k1=1.5, b=0.75), so rare terms the document repeats come first; numbers are
left out (a count like "236" is rare, so heavy, and no one searches for it). Each stem is
written as the first word of the document it comes from, in order of weight. With `n` > 1,
query 1 is the top `k`; each further one is `k` terms drawn from the top `2k` by the document's
random stream, kept in order of weight. A document with no indexable term gives no query.
"""

from __future__ import annotations

from rankdistill.data.beir import join_title_text
from rankdistill.mining.generators.base import (
    Document,
    GeneratorSpec,
    N,
    Setting,
    document_rng,
    register_generator,
)

SETTINGS = {"n": N, "k": Setting(int, 6, low=1)}


@register_generator("keywords", SETTINGS)
class KeywordsGenerator:
    def __init__(self, spec: GeneratorSpec, corpus: dict[str, Document], source: str = "corpus"):
        from rankdistill.retrieval.bm25 import BM25Retriever

        self.spec = spec
        self.k = int(spec.settings["k"])
        self.bm25 = BM25Retriever()
        self.bm25.index(corpus)
        self.weights, self.terms = self.bm25.term_weights()
        self.row = {doc_id: i for i, doc_id in enumerate(self.bm25.doc_ids)}

    def generate(self, documents: list[tuple[str, Document]], seed: int) -> list[list[str]]:
        return [self._queries(doc_id, doc, seed) for doc_id, doc in documents]

    def _queries(self, doc_id: str, doc: Document, seed: int) -> list[str]:
        weights = self.weights.getrow(self.row[doc_id])
        # by weight, ties by term: the same order on every machine
        ranked = sorted(
            zip(weights.data.tolist(), weights.indices.tolist()),
            key=lambda wt: (-wt[0], self.terms[wt[1]]),
        )
        forms = self.bm25.surface_forms(join_title_text(doc))
        words = [
            forms.get(self.terms[t], self.terms[t])
            for w, t in ranked
            if w > 0 and self.terms[t] and not self.terms[t].isdigit()
        ]
        if not words:
            return []
        queries = [" ".join(words[: self.k])]
        rng = document_rng(seed, doc_id)
        pool = words[: 2 * self.k]
        for _ in range(1, self.spec.n):
            picked = sorted(rng.sample(range(len(pool)), min(self.k, len(pool))))
            queries.append(" ".join(pool[i] for i in picked))
        return queries

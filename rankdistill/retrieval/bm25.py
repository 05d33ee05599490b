"""BM25 with bm25s: English Snowball stemming and stopwords over "title text"."""

from __future__ import annotations

import logging

import bm25s
import numpy as np
import Stemmer
from scipy import sparse

from rankdistill.data.beir import join_title_text
from rankdistill.retrieval.base import Corpus, Results, to_results
from rankdistill.retrieval.bm25_matrix import bm25_matrix, tokenised_chunks

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s logs its progress at DEBUG
INDEX_CHUNK = 50_000  # documents tokenised at a time while indexing


class BM25Retriever:
    def __init__(
        self, k1: float = 1.5, b: float = 0.75, language: str = "english", stopwords: str = "en"
    ):
        self.spec = "bm25"
        self.k1, self.b = k1, b
        self.language = language
        self.stemmer = Stemmer.Stemmer(language)
        self.stopwords = stopwords
        self.doc_ids: list[str] = []
        self.model: bm25s.BM25 | None = None

    def __getstate__(self) -> dict:
        """Pickled (shipped to a Ray worker) without the stemmer, a C object made again on load."""
        return {key: value for key, value in self.__dict__.items() if key != "stemmer"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.stemmer = Stemmer.Stemmer(self.language)

    def _tokenize(self, texts: list[str]):
        return bm25s.tokenize(
            texts, stopwords=self.stopwords, stemmer=self.stemmer, show_progress=False
        )

    def query_terms(self, query: str) -> list[str]:
        """The stemmed, stopword-free terms of one query, as the index stores them."""
        return bm25s.tokenize(
            [query],
            stopwords=self.stopwords,
            stemmer=self.stemmer,
            return_ids=False,
            show_progress=False,
        )[0]

    def scores_for(self, query: str) -> np.ndarray:
        """The BM25 score of `query` against every indexed document, in index order."""
        if self.model is None:
            raise RuntimeError("BM25Retriever.scores_for called before index()")
        terms = self.query_terms(query)
        if not terms:  # only stopwords or punctuation: no document matches (bm25s fails on [])
            return np.zeros(len(self.doc_ids), dtype=np.float32)
        return self.model.get_scores(terms)

    def term_weights(self) -> tuple[sparse.csr_matrix, list[str]]:
        """(documents x terms) BM25 weight of each stemmed term in each indexed document (the
        score a one-term query gets there: idf * saturated tf), in index order, and the terms."""
        if self.model is None:
            raise RuntimeError("BM25Retriever.term_weights called before index()")
        stored = self.model.scores
        n_terms = len(stored["indptr"]) - 1
        matrix = sparse.csc_matrix(
            (stored["data"], stored["indices"], stored["indptr"]),
            shape=(stored["num_docs"], n_terms),
        )
        terms = [""] * n_terms
        for term, column in self.model.vocab_dict.items():
            if column < n_terms:
                terms[column] = term
        return matrix.tocsr(), terms

    def surface_forms(self, text: str) -> dict[str, str]:
        """{stemmed term: the first word of `text` it comes from} (words lowercased, as indexed)."""
        words = bm25s.tokenize(
            [text], stopwords=self.stopwords, stemmer=None, return_ids=False, show_progress=False
        )[0]
        forms: dict[str, str] = {}
        for word in words:
            forms.setdefault(self.stemmer.stemWord(word), word)
        return forms

    def index(self, corpus: Corpus) -> None:
        """bm25s's index of `corpus`, built `INDEX_CHUNK` documents at a time
        (rankdistill.retrieval.bm25_matrix): no list of every text or token list is held."""
        self.doc_ids = list(corpus)

        def texts_of(start: int, end: int) -> list[str]:
            return [join_title_text(corpus[d]) for d in self.doc_ids[start:end]]

        chunks = tokenised_chunks(texts_of, len(self.doc_ids), self._tokenize, INDEX_CHUNK)
        scores, vocab = bm25_matrix(chunks, self.k1, self.b)
        self.model = bm25s.BM25(k1=self.k1, b=self.b)
        self.model.scores, self.model.vocab_dict = scores, vocab
        self.model.unique_token_ids_set = set(vocab.values())
        self.model.nonoccurrence_array = None  # Lucene BM25 has no non-occurrence term

    def search(self, queries: dict[str, str], k: int) -> Results:
        if self.model is None:
            raise RuntimeError("BM25Retriever.search called before index()")
        query_ids = list(queries)
        k = min(k, len(self.doc_ids))
        tokens = self._tokenize([queries[q] for q in query_ids])
        indices, scores = self.model.retrieve(tokens, k=k, show_progress=False, n_threads=0)
        # A query whose every term is unknown to the corpus scores 0 everywhere: return no hits.
        indices = np.where(scores > 0, indices, -1)
        return to_results(query_ids, self.doc_ids, indices, scores)

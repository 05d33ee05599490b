"""Dense bi-encoder retrieval: a SentenceTransformer and exact FAISS inner-product search."""

from __future__ import annotations

import faiss
import numpy as np
from sentence_transformers import SentenceTransformer

from rankdistill.data.beir import join_title_text
from rankdistill.errors import UserError
from rankdistill.models import resolve_model
from rankdistill.retrieval.base import Corpus, Results, to_results


def load_dense_model(name: str, device: str | None = None, max_length: int | None = None) -> SentenceTransformer:
    model = SentenceTransformer(resolve_model(name), device=device)
    if max_length:
        model.max_seq_length = max_length
    return model


def normalizes(model: SentenceTransformer) -> bool:
    """Whether search must use cosine: the model's similarity is cosine (ST's default)."""
    similarity = model.similarity_fn_name or "cosine"
    if similarity not in ("cosine", "dot"):
        raise UserError(f"dense retrieval supports cosine or dot similarity, model uses {similarity!r}")
    return similarity == "cosine"


def encode_documents(model: SentenceTransformer, texts: list[str], batch_size: int = 32, progress: bool = True) -> np.ndarray:
    """Document embeddings as float32, L2-normalised when the model's similarity is cosine."""
    embeddings = model.encode_document(
        texts,
        batch_size=batch_size,
        show_progress_bar=progress,
        convert_to_numpy=True,
        normalize_embeddings=normalizes(model),
    )
    return np.ascontiguousarray(embeddings, dtype=np.float32)


def encode_queries(model: SentenceTransformer, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
    embeddings = model.encode_query(
        texts,
        batch_size=batch_size,
        show_progress_bar=progress,
        convert_to_numpy=True,
        normalize_embeddings=normalizes(model),
    )
    return np.ascontiguousarray(embeddings, dtype=np.float32)


class DenseRetriever:
    def __init__(self, model: str, batch_size: int = 32, device: str | None = None, max_length: int | None = None):
        self.spec = f"dense:{model}"
        self.model = load_dense_model(model, device, max_length)
        self.batch_size = batch_size
        self.doc_ids: list[str] = []
        self.faiss_index: faiss.Index | None = None

    def index(self, corpus: Corpus) -> None:
        self.doc_ids = list(corpus)
        embeddings = encode_documents(self.model, [join_title_text(corpus[d]) for d in self.doc_ids], self.batch_size)
        self.faiss_index = faiss.IndexFlatIP(embeddings.shape[1])
        self.faiss_index.add(embeddings)

    def search(self, queries: dict[str, str], k: int) -> Results:
        if self.faiss_index is None:
            raise RuntimeError("DenseRetriever.search called before index()")
        query_ids = list(queries)
        embeddings = encode_queries(self.model, [queries[q] for q in query_ids], self.batch_size)
        scores, indices = self.faiss_index.search(embeddings, min(k, len(self.doc_ids)))
        return to_results(query_ids, self.doc_ids, indices, scores)

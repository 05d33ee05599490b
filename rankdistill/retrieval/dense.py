"""Dense bi-encoder retrieval: a SentenceTransformer and exact FAISS inner-product search."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import faiss
import numpy as np
from sentence_transformers import SentenceTransformer

from rankdistill.core.errors import UserError
from rankdistill.core.hardware import inference_autocast
from rankdistill.data.beir import join_title_text
from rankdistill.encoders.asymmetric import document_max_length, is_asymmetric, set_max_length
from rankdistill.encoders.models import EncodingModel, EncodingSettings, resolve_model
from rankdistill.retrieval.base import (
    MEMO_CORPUS,
    Corpus,
    OnBatch,
    Results,
    in_length_batches,
    memoised_rows,
    to_results,
)

_models: dict[tuple[str, str | None, int | None, str, str], Any] = {}

log = logging.getLogger(__name__)


def load_dense_model(name: str, settings: EncodingSettings | None = None) -> EncodingModel:
    """A SentenceTransformer (or, for backend onnx / onnx-int8 / openvino, its exported twin,
    rankdistill.retrieval.dense_exported), shared within the process by everyone asking for the
    same one, with `settings` whose precision and backend are resolved here."""
    from rankdistill.retrieval.exported import resolve_backend

    settings = settings or EncodingSettings()
    path = resolve_model(name)
    backend = (
        "torch" if settings.backend == "auto" else settings.backend
    )  # torch is the fastest dense encoder in bf16 and ties in float32 (bench_dense_encode.md)
    backend, precision = resolve_backend(backend, settings.precision, settings.device)
    key = (path, settings.device, settings.max_length, precision, backend)
    if key not in _models:
        model = SentenceTransformer(path, device=settings.device)
        set_max_length(model, settings.max_length)  # an asymmetric student: its document route only
        if backend != "torch" and is_asymmetric(model):
            raise UserError(
                f"{name}: an asymmetric (query/document) student runs with backend torch, not {backend}"
            )
        if backend != "torch":
            from rankdistill.core.fingerprints import weights_hash
            from rankdistill.retrieval.dense_exported import ExportedDenseModel

            model = ExportedDenseModel(model, weights_hash(path), backend, precision)
        _models[key] = model
    model = _models[key]
    memo_key = f"{path}|{settings.device}|{document_max_length(model)}|{precision}|{backend}"
    return EncodingModel(model, replace(settings, precision=precision, backend=backend), memo_key)


def normalizes(model: SentenceTransformer) -> bool:
    """Whether search must use cosine: the model's similarity is cosine (ST's default)."""
    similarity = model.similarity_fn_name or "cosine"
    if similarity not in ("cosine", "dot"):
        raise UserError(
            f"dense retrieval supports cosine or dot similarity, model uses {similarity!r}"
        )
    return similarity == "cosine"


def encode_texts(
    encoding: EncodingModel,
    texts: list[str],
    role: str,
    normalize: bool = True,
    progress: bool = False,
    on_batch: OnBatch | None = None,
    memoise: bool = True,
) -> np.ndarray:
    """float32 embeddings of `texts` as queries or documents (`role`), in batches of
    `encoding.settings.batch_size`; each distinct text is encoded once per process and model
    loaded with `load_dense_model`. `on_batch(n)` is called after each batch the model encodes
    (memo hits encode nothing). `memoise=False`: nothing is kept (a corpus encoded chunk by chunk,
    each text once, whose memo would hold every text and vector of it)."""
    model, settings = encoding.model, encoding.settings
    if not texts:
        return np.zeros((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)

    encode_role = model.encode_query if role == "query" else model.encode_document

    def one_batch(batch: list[str]) -> np.ndarray:
        vectors = encode_role(
            batch,
            batch_size=settings.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=normalize,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode(new: list[str]) -> np.ndarray:
        with inference_autocast(model.device.type, settings.precision):
            blocks, order = in_length_batches(
                new, settings.batch_size, one_batch, on_batch, progress, f"encoding {role}s"
            )
        return np.concatenate(blocks)[np.argsort(order)]

    if not memoise:
        return np.ascontiguousarray(encode(list(texts)), dtype=np.float32)
    rows = memoised_rows(
        [(encoding.memo_key, role, normalize, text) for text in texts], texts, encode
    )
    return np.ascontiguousarray(np.stack(rows), dtype=np.float32)


def encode_documents(
    encoding: EncodingModel,
    texts: list[str],
    progress: bool = True,
    on_batch: OnBatch | None = None,
    memoise: bool = True,
) -> np.ndarray:
    """Document embeddings as float32, L2-normalised when the model's similarity is cosine."""
    normalize = normalizes(encoding.model)
    return encode_texts(encoding, texts, "document", normalize, progress, on_batch, memoise)


def cached_documents(encoding: EncodingModel, texts: list[str]) -> np.ndarray:
    """`encode_documents`, kept on disk under <cache>/vectors/ (memory-mapped when read back) and
    keyed by the model's encoding key and every text, so the runs that search one corpus with one
    model (mining, evaluation baselines) encode it once. $RANKDISTILL_VECTOR_CACHE=0 turns it off."""
    import hashlib
    import os

    from rankdistill.core.atomic import atomic_write
    from rankdistill.core.paths import cache_dir

    if os.environ.get("RANKDISTILL_VECTOR_CACHE", "1") == "0":
        return encode_documents(encoding, texts)
    digest = hashlib.sha256(encoding.memo_key.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    path = cache_dir() / "vectors" / f"{digest.hexdigest()[:32]}.npy"
    if path.is_file():
        try:
            vectors = np.load(path, mmap_mode="r")
            if (
                vectors.shape[0] == len(texts)
                and vectors.dtype == np.float32
                and np.isfinite(vectors[:64]).all()
            ):
                return np.ascontiguousarray(vectors)
        except (OSError, ValueError):
            pass
        log.warning(
            "%s: a cached corpus encoding that does not fit (cut short or damaged); encoding again",
            path,
        )
    vectors = encode_documents(encoding, texts)
    atomic_write(path, lambda handle: np.save(handle, vectors), binary=True)
    return vectors


def encode_queries(encoding: EncodingModel, texts: list[str], progress: bool = False) -> np.ndarray:
    return encode_texts(encoding, texts, "query", normalizes(encoding.model), progress)


# Above MEMO_CORPUS documents a corpus is encoded into memory-mapped, resumable chunks under the
# cache (<cache>/encodings, the chunked encoding indexes use) and searched block by block, so
# memory stays bounded whatever the corpus size. At or below it the corpus is encoded in memory,
# where every text's vector is memoised: a bi-encoder teacher of the same model then scores the
# mined pairs without encoding their documents again.
QUERY_BLOCK = 1024  # queries searched at once over a streamed corpus
DOCUMENT_BLOCK = 16_384  # documents read at once (x QUERY_BLOCK scores: 64 MB)


class DenseRetriever:
    def __init__(self, model: str, settings: EncodingSettings | None = None, engine: str = "local"):
        """`engine: ray` encodes a streamed corpus on Ray (`retrieval.ray_encode`)."""
        self.spec = f"dense:{model}"
        self.model = model
        self.settings = settings or EncodingSettings()
        self.encoding: EncodingModel | None = load_dense_model(model, self.settings)
        self.doc_ids: list[str] = []
        self.faiss_index: faiss.Index | None = None
        self.vectors: np.ndarray | None = None  # a streamed corpus's memory-mapped vectors
        self.engine = engine

    @property
    def streamed(self) -> bool:
        """Whether the corpus is searched from memory-mapped vectors, block by block."""
        return self.vectors is not None

    def __getstate__(self) -> dict[str, Any]:
        """What a Ray worker needs to search a streamed corpus (`retrieval.ray_search`; an
        in-memory FAISS index searches in the driver and is not shipped): the vectors by their
        file, not their bytes, and no model (the driver encodes the queries)."""
        state = dict(self.__dict__, encoding=None)
        if isinstance(self.vectors, np.memmap):
            state["vectors"] = str(self.vectors.filename)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if isinstance(self.vectors, str):
            self.vectors = np.load(self.vectors, mmap_mode="c", allow_pickle=False)

    def index(self, corpus: Corpus) -> None:
        self.doc_ids = list(corpus)
        if len(self.doc_ids) > MEMO_CORPUS:
            from rankdistill.core.paths import cache_dir
            from rankdistill.data.open import DocumentTexts
            from rankdistill.retrieval.encode import encode_cached

            self.faiss_index = None
            self.vectors, _ = encode_cached(
                self.model,
                self.doc_ids,
                DocumentTexts(corpus, self.doc_ids),
                cache_dir() / "encodings",
                encoding=self.settings,
                engine=self.engine,
            )
            return
        embeddings = cached_documents(
            self.encoding, [join_title_text(corpus[d]) for d in self.doc_ids]
        )
        self.vectors = None
        self.faiss_index = faiss.IndexFlatIP(embeddings.shape[1])
        self.faiss_index.add(embeddings)

    def search(self, queries: dict[str, str], k: int) -> Results:
        query_ids = list(queries)
        return self.search_vectors(
            query_ids, self.query_vectors([queries[q] for q in query_ids]), k
        )

    def query_vectors(self, texts: list[str]) -> np.ndarray:
        """The queries' vectors, as `search` encodes them."""
        if self.encoding is None:  # shipped to a Ray worker without its model
            self.encoding = load_dense_model(self.model, self.settings)
        return encode_queries(self.encoding, texts)

    def search_vectors(self, query_ids: list[str], embeddings: np.ndarray, k: int) -> Results:
        """The top `k` documents for each query vector: exact FAISS search in memory, or over a
        streamed corpus `QUERY_BLOCK` queries at a time (the blocks Ray's tasks search too)."""
        if self.faiss_index is None and self.vectors is None:
            raise RuntimeError("DenseRetriever.search called before index()")
        k = min(k, len(self.doc_ids))
        if self.faiss_index is not None:
            scores, indices = self.faiss_index.search(embeddings, k)
            return to_results(query_ids, self.doc_ids, indices, scores)
        import torch

        from rankdistill.retrieval.search import blockwise_topk

        found = []
        for start in range(0, len(query_ids), QUERY_BLOCK):
            block = torch.from_numpy(np.ascontiguousarray(embeddings[start : start + QUERY_BLOCK]))
            found.append(blockwise_topk(block, self.vectors, k, DOCUMENT_BLOCK))
        scores = torch.cat([s for s, _ in found]).numpy()
        indices = torch.cat([r for _, r in found]).numpy()
        return to_results(query_ids, self.doc_ids, indices, scores)

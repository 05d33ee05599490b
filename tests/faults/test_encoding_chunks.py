"""Resumable corpus encoding (rankdistill/retrieval/encode.py): a damaged chunk
(`NNNNNNNNN-NNNNNNNNN.npy` / `.npz`) is encoded again, alone; a damaged or missing state.json
beside chunks starts the encoding over (nothing then says which model made them). Each is a
warning naming the file, and the vectors equal a clean encoding's."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from rankdistill.retrieval.encode import encode_cached, encode_chunks
from tests.conftest import TINY_CORPUS
from tests.faults.inject import FAULTS, inject, user_error

TEXTS = [f"{title} {text}" for title, text in TINY_CORPUS.values()]  # 10 documents
SOURCE = {"corpus_sha256": "tiny"}


class Encoder:
    """Deterministic vectors of a text; records what it was asked to encode."""

    fingerprint = "fault-encoder"
    batch_size = 2

    def __init__(self, sparse: bool = False) -> None:
        self.sparse = sparse
        self.encoded: list[str] = []

    def encode_documents(
        self, texts: list[str], progress: bool = False, on_batch=None, memoise=True
    ):
        self.encoded.extend(texts)
        dense = np.array(
            [[len(t), sum(t.encode()) % 97, t.count("e"), 1.0] for t in texts], np.float32
        )
        return sp.csr_matrix(dense) if self.sparse else dense


def encode(folder: Path, encoder: Encoder) -> np.ndarray | sp.csr_matrix:
    return encode_chunks(encoder, TEXTS, folder, 3, SOURCE, progress=False).stack()


def as_array(vectors) -> np.ndarray:
    return vectors.toarray() if sp.issparse(vectors) else np.asarray(vectors)


def retype_chunk(data: bytes) -> bytes:
    """The same chunk saved transposed: a valid array of the wrong shape."""
    out = io.BytesIO()
    if data.startswith(b"PK"):  # a CSR .npz
        sp.save_npz(out, sp.load_npz(io.BytesIO(data)).T.tocsr(), compressed=False)
    else:
        np.save(out, np.load(io.BytesIO(data)).T.copy())
    return out.getvalue()


def retype_state(data: bytes) -> bytes:
    """The document count as a string."""
    state = json.loads(data)
    return json.dumps({**state, "count": str(state["count"])}).encode()


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_chunk_is_encoded_again_alone(
    tmp_path: Path, fault: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    sparse = kind == "sparse"
    clean = as_array(encode(tmp_path / "clean", Encoder(sparse)))
    folder = tmp_path / "resumed"
    encode(folder, Encoder(sparse))
    chunk = folder / f"000000003-000000006.{'npz' if sparse else 'npy'}"
    inject(chunk, fault, retype_chunk)
    again = Encoder(sparse)
    with caplog.at_level(logging.WARNING, "rankdistill.retrieval.encode"):
        vectors = encode(folder, again)
    np.testing.assert_array_equal(as_array(vectors), clean)
    assert again.encoded == TEXTS[3:6]  # only the damaged chunk's rows
    if fault == "deleted":
        assert not caplog.records
    else:
        (record,) = caplog.records
        problem = {
            ("truncated", "dense"): "unreadable (ValueError: EOF: reading array header",
            ("truncated", "sparse"): "unreadable (BadZipFile: File is not a zip file)",
            ("garbage", "dense"): "not a .npy array file",
            ("garbage", "sparse"): "not a .npz archive",
            ("wrong type", "dense"): "an array of shape (4, 3), expected 3 rows of vectors",
            ("wrong type", "sparse"): "an array of shape (4, 3), expected 3 rows of vectors",
        }[fault, kind]
        assert record.getMessage().startswith(f"{chunk}: {problem}")
        assert record.getMessage().endswith("; encoding its rows again")


@pytest.mark.parametrize("fault", FAULTS)
def test_a_damaged_state_starts_the_encoding_over(
    tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    clean = encode(tmp_path / "clean", Encoder())
    folder = tmp_path / "resumed"
    encode(folder, Encoder())
    state = folder / "state.json"
    inject(state, fault, retype_state)
    again = Encoder()
    with caplog.at_level(logging.WARNING, "rankdistill.retrieval.encode"):
        vectors = encode(folder, again)
    np.testing.assert_array_equal(vectors, clean)
    assert again.encoded == TEXTS  # every chunk was encoded again
    assert json.loads(state.read_text()) == {"model": "fault-encoder", "count": 10, **SOURCE}
    (record,) = caplog.records
    expected = {
        "truncated": "unreadable (JSONDecodeError: ",
        "garbage": "unreadable (UnicodeDecodeError: ",
        "wrong type": "field 'count': expected int, got str",
        "deleted": "missing beside saved chunks, so nothing says which model made them",
    }[fault]
    assert record.getMessage().startswith(f"{state}: {expected}")
    assert record.getMessage().endswith("; encoding again from the start")


@pytest.mark.parametrize("fault", FAULTS)
def test_encode_cached_redoes_a_damaged_chunk_of_a_real_model(
    tmp_path: Path, fault: str, tiny_dense_model: str, caplog: pytest.LogCaptureFixture
) -> None:
    def cached() -> tuple[np.ndarray, dict]:
        return encode_cached(tiny_dense_model, list(TINY_CORPUS), TEXTS, tmp_path, progress=False)

    clean, record = cached()
    (chunk,) = Path(record["encodings"]).glob("[0-9]*.npy")  # the chunk, not the stacked vectors
    assert chunk.name == "000000000-000000010.npy"
    inject(chunk, fault, retype_chunk)
    with caplog.at_level(logging.WARNING, "rankdistill.retrieval.encode"):
        vectors, _ = cached()
    assert vectors.shape == (10, 128) and vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors, clean)
    stacked = list(Path(record["encodings"]).glob("vectors-*.npy"))
    assert len(stacked) == 1 and stacked[0].name != Path(clean.filename).name  # rewritten, once
    warned = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{chunk}: ")]
    assert len(warned) == (fault != "deleted")


def test_a_chunk_of_other_vectors_with_the_right_rows_is_named(tmp_path: Path) -> None:
    """A chunk that reads as float32 rows of the right count but another width cannot be told
    from the others' by itself: the chunks are compared, and the odd one is named."""
    encode(tmp_path, Encoder())
    chunk = tmp_path / "000000003-000000006.npy"
    np.save(chunk, np.zeros((3, 5), np.float32))
    user_error(
        lambda: encode(tmp_path, Encoder()),
        chunk,
        f"{chunk}: holds vectors of 5 dimensions, the chunks before it 4; delete it and rerun",
    )

"""Dense encoders run by exported backends (onnx, onnx-int8, openvino) against torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankdistill.core.errors import UserError

TEXTS = [
    "a short text",
    "a somewhat longer text about proteins folding in cells",
    "tides and the moon",
    "coffee",
]


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_float32_backends_encode_like_torch(
    tiny_dense_model: str, backend: str, tmp_path: Path
) -> None:
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.dense import encode_texts, load_dense_model

    torch_model = load_dense_model(
        tiny_dense_model, EncodingSettings(precision="float32", backend="torch")
    )
    exported = load_dense_model(
        tiny_dense_model, EncodingSettings(precision="float32", backend=backend)
    )
    assert exported.settings.backend == backend and exported.model is not torch_model.model
    for role in ("query", "document"):
        np.testing.assert_allclose(
            encode_texts(exported, TEXTS, role), encode_texts(torch_model, TEXTS, role), atol=1e-4
        )
    assert (tmp_path / "cache" / "onnx").is_dir()  # exported once, into the cache


def test_int8_is_close_but_not_equal_and_has_its_own_fingerprint(tiny_dense_model: str) -> None:
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.encode import load_encoder

    reference = load_encoder(
        tiny_dense_model,
        sparse=False,
        settings=EncodingSettings(precision="float32", backend="torch"),
    )
    int8 = load_encoder(
        tiny_dense_model, sparse=False, settings=EncodingSettings(backend="onnx-int8")
    )
    a, b = reference.encode_documents(TEXTS), int8.encode_documents(TEXTS)
    assert not np.allclose(a, b, atol=1e-6) and np.all(np.sum(a * b, axis=1) > 0.9)
    assert int8.precision == "float32" and int8.fingerprint != reference.fingerprint
    assert int8.record()["backend"] == "onnx-int8"


def test_backend_mistakes_are_clear(tiny_dense_model: str) -> None:
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.dense import load_dense_model

    with pytest.raises(UserError, match="backend 'onnx' runs float32"):
        load_dense_model(tiny_dense_model, EncodingSettings(precision="bf16", backend="onnx"))
    with pytest.raises(UserError, match="unknown backend 'tvm'"):
        load_dense_model(tiny_dense_model, EncodingSettings(backend="tvm"))


def test_unsupported_module_stacks_are_refused(splade_tiny: str, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer

    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.dense import load_dense_model

    body = Transformer(splade_tiny, max_seq_length=32)
    pooling = Pooling(body.get_embedding_dimension(), pooling_mode="mean")
    dense = Dense(body.get_embedding_dimension(), 8)
    SentenceTransformer(modules=[body, pooling, dense], device="cpu").save(str(tmp_path / "m"))
    with pytest.raises(UserError, match="Transformer -> Pooling -> Dense: use backend torch"):
        load_dense_model(str(tmp_path / "m"), EncodingSettings(backend="openvino"))


def test_an_index_built_with_a_backend_searches_with_it(
    tiny_dense_model: str, tmp_path: Path
) -> None:
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.indexes import BuildSettings, open_index
    from rankdistill.indexes.build import write_index
    from tests.conftest import write_beir

    beir = write_beir(tmp_path / "tiny")
    manifest = write_index(
        tiny_dense_model,
        str(beir),
        "Flat",
        tmp_path / "ov",
        settings=BuildSettings(EncodingSettings(backend="openvino")),
        progress=False,
    )
    assert (
        manifest["model"]["backend"] == "openvino" and manifest["model"]["precision"] == "float32"
    )
    index = open_index(tmp_path / "ov")
    assert (
        index.encoder.backend == "openvino"
        and index.encoder.fingerprint == manifest["model"]["fingerprint"]
    )
    assert len(index.search({"q": "ocean tides"}, 3)["q"]) == 3

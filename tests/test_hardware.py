"""Precision, device and thread choice (rankdistill.core.hardware) and where the choice is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rankdistill.core import hardware
from rankdistill.core.errors import InputError, UserError
from rankdistill.core.hardware import (
    available_cpus,
    choose_precision,
    precision_fields,
    resolve_precision,
)
from rankdistill.encoders.models import EncodingSettings


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ("AVX2", "float32"),
        ("AVX512", "float32"),
        ("DEFAULT", "float32"),
        ("AMX", "bf16"),
        ("AVX512_BF16", "bf16"),
    ],
)
def test_auto_is_bf16_only_on_cpus_that_run_it_natively(
    monkeypatch, capability: str, expected: str
) -> None:
    monkeypatch.setenv("RANKDISTILL_CPU_CAPABILITY", capability)
    choice = choose_precision("auto", "cpu")
    assert choice.precision == expected and capability in choice.reason


def test_auto_on_cuda_follows_the_device(monkeypatch) -> None:
    monkeypatch.setattr(hardware, "cuda_supports_bf16", lambda: True)
    assert resolve_precision("auto", "cuda") == "bf16"
    monkeypatch.setattr(hardware, "cuda_supports_bf16", lambda: False)
    assert resolve_precision("auto", "cuda:1") == "float32"
    assert resolve_precision("fp16", "cuda") == "fp16"


def test_explicit_choices_aliases_and_mistakes() -> None:
    assert resolve_precision("float32", "cpu") == "float32"
    assert (
        resolve_precision(True, "cpu") == "bf16" and resolve_precision(False, "cpu") == "float32"
    )  # the bf16 alias
    with pytest.raises(UserError, match="fp16 runs on CUDA only"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(UserError, match="unknown precision 'half'"):
        resolve_precision("half", "cpu")


def test_fingerprint_fields_keep_float32_and_bf16_as_they_were() -> None:
    assert precision_fields("float32") == {} and precision_fields("bf16") == {"bf16": True}
    assert precision_fields("fp16") == {"precision": "fp16"}


def test_the_resolved_precision_changes_the_teacher_fingerprint(
    tiny_dense_model: str, monkeypatch
) -> None:
    from rankdistill.teachers import build_teacher

    on_avx2 = build_teacher(
        f"bi-encoder:{tiny_dense_model}", encoding=EncodingSettings(device="cpu")
    )  # auto -> float32
    monkeypatch.setenv("RANKDISTILL_CPU_CAPABILITY", "AMX")
    on_amx = build_teacher(
        f"bi-encoder:{tiny_dense_model}", encoding=EncodingSettings(device="cpu")
    )  # auto -> bf16
    explicit = build_teacher(
        f"bi-encoder:{tiny_dense_model}", encoding=EncodingSettings(device="cpu", precision="bf16")
    )
    assert on_avx2.fingerprint != on_amx.fingerprint == explicit.fingerprint


def test_yaml_alias_keys_and_located_errors(tmp_path: Path) -> None:
    from rankdistill.core.config import load_config

    path = tmp_path / "run.yaml"
    path.write_text("evaluate:\n  datasets: [scifact]\n  bf16: true\n")
    assert load_config(path).evaluate.precision == "bf16"
    path.write_text("evaluate:\n  bf16: false\n")
    assert load_config(path).evaluate.precision == "float32"
    path.write_text("evaluate:\n  precision: auto\n")
    assert load_config(path).evaluate.precision == "auto"
    path.write_text("evaluate:\n  precision: bf16\n  bf16: false\n")
    with pytest.raises(
        InputError,
        match=r"run.yaml:3: field 'evaluate.bf16': given twice \(bf16 is an alias of precision\)",
    ):
        load_config(path)
    path.write_text("evaluate:\n  precision: half\n")
    with pytest.raises(
        InputError,
        match=r"run.yaml:2: field 'evaluate.precision': expected one of auto, float32, bf16, fp16",
    ):
        load_config(path)


def test_run_configs_resolve_auto_and_keep_their_old_stage_keys(monkeypatch) -> None:
    from rankdistill.core.config import resolve_precisions
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.key_migrations import v0_precision
    from rankdistill.pipeline.run import pipeline_stages

    config = load_pipeline_config("configs/default.yaml")
    monkeypatch.setenv("RANKDISTILL_CPU_CAPABILITY", "AMX")
    reasons = resolve_precisions(config)
    assert (
        config.index.precision
        == config.train.trainer.precision
        == config.teacher.members[1].precision
        == "bf16"
    )
    assert "AMX" in reasons["index.precision"]
    stages = {s.name: s.settings_under(0) for s in pipeline_stages(config)}
    # what a config with `bf16: true` hashed to before `precision` existed (key version 0)
    assert stages["index"]["index"]["bf16"] is True and "precision" not in stages["index"]["index"]
    assert stages["mine"]["teacher"][1]["bf16"] is True
    forced = load_pipeline_config("configs/default.yaml")
    reasons = resolve_precisions(forced, override="float32")
    assert forced.index.precision == "float32" and reasons["index.precision"].startswith(
        "float32 (--precision"
    )
    assert {s.name: s.settings_under(0) for s in pipeline_stages(forced)}["index"] != stages[
        "index"
    ]
    assert v0_precision({"a": [{"precision": "fp16"}]}) == {"a": [{"precision": "fp16"}]}


def test_progress_callbacks_fire_per_batch(tiny_dense_model: str) -> None:
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.dense import encode_texts, load_dense_model

    model = load_dense_model(tiny_dense_model, EncodingSettings(batch_size=5, precision="float32"))
    texts = [f"progress text number {i} " + "word " * (i % 7) for i in range(23)]
    calls: list[int] = []
    vectors = encode_texts(model, texts, "document", on_batch=calls.append)
    assert calls == [5, 5, 5, 5, 3]
    reference = model.model.encode_document(texts, convert_to_numpy=True, normalize_embeddings=True)
    np.testing.assert_allclose(
        vectors, reference, atol=1e-5
    )  # batched by length, put back in order
    calls.clear()
    encode_texts(model, texts, "document", on_batch=calls.append)
    assert calls == []  # all memoised: nothing encoded, nothing reported


def test_index_encoding_bar_moves_every_batch(
    tiny_dense_model: str, tmp_path: Path, monkeypatch
) -> None:
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.encode import encode_chunks, load_encoder

    updates: list[int] = []
    monkeypatch.setattr(
        "rankdistill.retrieval.encode.tqdm.update",
        lambda self, n=1: getattr(self, "desc", None) == "encoding" and updates.append(n),
    )
    encoder = load_encoder(tiny_dense_model, sparse=False, settings=EncodingSettings(batch_size=4))
    texts = [f"a document to index, number {i}" for i in range(10)]
    encode_chunks(encoder, texts, tmp_path / "chunks", chunk_size=10, source={})
    assert updates == [4, 4, 2]  # one chunk of 10, three batches


def test_available_cpus_follow_the_cgroup_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert available_cpus(tmp_path) == min(2, available_cpus(tmp_path / "none"))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == available_cpus(tmp_path / "none") >= 1


def test_run_records_the_precision_and_why(tmp_path: Path) -> None:
    from rankdistill.core.config import resolve_precisions
    from rankdistill.pipeline.config import load_pipeline_config

    config = load_pipeline_config("configs/default.yaml")
    reasons = resolve_precisions(config)
    assert set(reasons.values()) == {
        "float32 (auto: the CPU has no native bf16 (AVX2), where bf16 is emulated and slower)"
    }
    assert json.dumps(reasons)  # what config.json and the report carry


def test_onednn_isa_limit_counts_as_no_native_bf16(monkeypatch):
    monkeypatch.delenv("RANKDISTILL_CPU_CAPABILITY", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert hardware.cpu_capability() == "AVX2"
    assert hardware.resolve_precision("auto", "cpu") == "float32"


def test_auto_backend_is_openvino_only_for_bf16_on_a_cpu(monkeypatch):
    from rankdistill.retrieval.exported import openvino_available, resolve_backend

    assert resolve_backend("auto", "auto", "cpu") == ("torch", "float32")  # AVX2 (conftest)
    assert resolve_backend("onnx", "auto", "cpu") == ("onnx", "float32")
    monkeypatch.setenv("RANKDISTILL_CPU_CAPABILITY", "AMX")
    assert resolve_backend("auto", "auto", "cpu") == (
        "openvino" if openvino_available() else "torch",
        "bf16",
    )
    assert resolve_backend("auto", "float32", "cpu") == ("torch", "float32")
    with pytest.raises(UserError, match="runs float32"):
        resolve_backend("onnx-int8", "bf16", "cpu")


def test_rankdistill_threads_overrides_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from rankdistill.core.hardware import available_cpus, configure_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("RANKDISTILL_THREADS", "1")
        assert configure_threads.__wrapped__() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv(
            "RANKDISTILL_THREADS", "none"
        )  # not a positive number: the CPUs this process may use
        assert configure_threads.__wrapped__() == available_cpus()
    finally:
        torch.set_num_threads(before)

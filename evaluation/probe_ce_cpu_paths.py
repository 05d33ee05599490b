"""Cross-encoder scoring without bf16: which ONNX Runtime path is >= 1.5x plain float32 at per-query tau >= 0.99?

Issue 13 asks for such a path on CPUs without native bf16. This probe takes a trained
cross-encoder, exports it once through the teacher's own exporter, and times on the same real
SciFact pairs, in one process, against plain `CrossEncoder.predict` in float32 (the anchor):
  ort-f32          the plain float32 export (what `backend: onnx` runs)
  ort-f32-fused    onnxruntime.transformers' BERT optimizer: fused attention, skip-LayerNorm,
                   bias-GELU (float32; exact up to float rounding)
  ort-int8-dyn     dynamic int8 (what `backend: onnx-int8` runs)
  ort-int8-static  static int8 MatMuls, QDQ, per-channel weights, calibrated on pairs of *other*
                   queries (MinMax and Percentile 99.99), float32 kept for the classifier head
  ort-int8-ffn     static int8 of the feed-forward MatMuls only, attention in float32
  ov-f32           OpenVINO, float32 precision hint
  ov-int8-nncf     OpenVINO after NNCF post-training quantisation (transformer model type: softmax,
                   LayerNorm and GELU kept in float; calibrated on the same other-query pairs),
                   with and without SmoothQuant, all MatMuls / the feed-forward ones only / the
                   middle layers only (first and last layer, pooler and head in float32)
Per-query Kendall tau is against the anchor's scores over each query's candidates (what reranking
sees). ONNX Runtime picks its kernels by CPUID and ignores ONEDNN_MAX_CPU_ISA, so on an AVX-512
CPU its rows are AVX-512 (VNNI for int8) figures: a CPU without bf16 like Cascade Lake, not an
AVX2-only one.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/probe_ce_cpu_paths.py --model runs/teachers/scifact-listnet-d100-e2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import CrossEncoder

sys.path.insert(0, str(Path(__file__).parent))
from bench_teacher_scoring import per_query_tau, real_pairs  # noqa: E402

from rankdistill.core.hardware import configure_threads, cpu_capability  # noqa: E402
from rankdistill.teachers.exported import exported_model  # noqa: E402


def batches(tokenizer, queries: list[str], docs: list[str], max_length: int, batch: int):
    """(rows, int64 feeds) in longest-first order, as sentence-transformers batches."""
    order = np.argsort([-(len(q) + len(d)) for q, d in zip(queries, docs)], kind="stable")
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        enc = tokenizer(
            [queries[i] for i in rows],
            [docs[i] for i in rows],
            padding=True,
            truncation="longest_first",
            max_length=max_length,
            return_tensors="np",
        )
        yield rows, {n: v.astype(np.int64) for n, v in enc.items()}


def ov_scores(
    compiled, tokenizer, queries: list[str], docs: list[str], max_length: int, batch: int
) -> tuple[np.ndarray, float]:
    names = [i.get_any_name() for i in compiled.inputs]
    out = np.empty(len(queries), np.float32)
    started = time.perf_counter()
    for rows, feeds in batches(tokenizer, queries, docs, max_length, batch):
        out[rows] = compiled({n: feeds[n] for n in names})[compiled.outputs[0]][:, 0]
    return out, time.perf_counter() - started


def ort_scores(
    path: str, tokenizer, queries: list[str], docs: list[str], max_length: int, batch: int
) -> tuple[np.ndarray, float]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = configure_threads()
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    order = np.argsort([-(len(q) + len(d)) for q, d in zip(queries, docs)], kind="stable")
    out = np.empty(len(queries), np.float32)
    started = time.perf_counter()
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        enc = tokenizer(
            [queries[i] for i in rows],
            [docs[i] for i in rows],
            padding=True,
            truncation="longest_first",
            max_length=max_length,
            return_tensors="np",
        )
        out[rows] = session.run(None, {n: enc[n].astype(np.int64) for n in names})[0][:, 0]
    return out, time.perf_counter() - started


class Calibration:
    """CalibrationDataReader over pairs the timed set never contains."""

    def __init__(
        self, tokenizer, names: list[str], queries: list[str], docs: list[str], max_length: int
    ):
        self.batches = []
        for start in range(0, len(queries), 16):
            enc = tokenizer(
                queries[start : start + 16],
                docs[start : start + 16],
                padding=True,
                truncation="longest_first",
                max_length=max_length,
                return_tensors="np",
            )
            self.batches.append({n: enc[n].astype(np.int64) for n in names})
        self.position = 0

    def get_next(self):
        if self.position >= len(self.batches):
            return None
        self.position += 1
        return self.batches[self.position - 1]

    def rewind(self) -> None:
        self.position = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--calibration-pairs", type=int, default=320)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.transformers.optimizer import optimize_model

    queries, docs = real_pairs(args.pairs + args.calibration_pairs, 10)
    calib_q, calib_d = queries[args.pairs :], docs[args.pairs :]
    queries, docs = queries[: args.pairs], docs[: args.pairs]
    assert not set(calib_q) & set(queries), "calibration queries must differ from the timed ones"

    model = CrossEncoder(args.model, max_length=args.max_length, device="cpu")
    model.predict(list(zip(queries[:32], docs[:32])))
    started = time.perf_counter()
    anchor = model.predict(
        list(zip(queries, docs)), batch_size=args.batch_size, activation_fn=torch.nn.Identity()
    )
    anchor_s = time.perf_counter() - started

    tmp = Path(tempfile.mkdtemp(prefix="ce-paths-"))
    f32 = str(
        exported_model(model, args.model.replace("/", "-")[-16:], args.max_length, "onnx", root=tmp)
    )
    names = [i.name for i in onnx.load(f32).graph.input]
    config = model.model.config
    fused = str(tmp / "fused.onnx")
    optimize_model(
        f32, model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
    ).save_model_to_file(fused)
    variants: dict[str, str] = {"ort-f32": f32, "ort-f32-fused": fused}
    setup: dict[str, float] = {}

    t = time.perf_counter()
    quantize_dynamic(f32, str(tmp / "dyn.onnx"), weight_type=QuantType.QInt8)
    variants["ort-int8-dyn"], setup["ort-int8-dyn"] = str(tmp / "dyn.onnx"), time.perf_counter() - t
    matmuls = [n.name for n in onnx.load(f32).graph.node if n.op_type in ("MatMul", "Gemm")]
    head = [n for n in matmuls if "classifier" in n or "pooler" in n] + matmuls[-1:]
    attention = [n for n in matmuls if "attention" in n]
    for name, method, exclude in (
        ("ort-int8-static-minmax", CalibrationMethod.MinMax, head),
        ("ort-int8-static-pct", CalibrationMethod.Percentile, head),
        ("ort-int8-ffn-static-pct", CalibrationMethod.Percentile, head + attention),
    ):
        t = time.perf_counter()
        out = str(tmp / f"{name}.onnx")
        extra = {"CalibPercentile": 99.99} if method == CalibrationMethod.Percentile else {}
        quantize_static(
            f32,
            out,
            Calibration(model.tokenizer, names, calib_q, calib_d, args.max_length),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=method,
            nodes_to_exclude=exclude,
            op_types_to_quantize=["MatMul", "Gemm"],
            extra_options=extra,
        )
        variants[name], setup[name] = out, time.perf_counter() - t

    print(
        f"{len(queries)} SciFact train pairs (BM25 top-10), max_length {args.max_length}, batch {args.batch_size}, "
        f"threads {configure_threads()}, torch CPU capability {cpu_capability()}; calibration: {len(calib_q)} pairs of other queries"
    )
    print(f"model: {args.model}")
    print("| path | seconds | pairs/s | vs plain fp32 | max abs diff | per-query tau | setup s |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| plain CrossEncoder.predict (torch fp32, anchor) | {anchor_s:.2f} | {len(queries) / anchor_s:.1f} | 1.00x | | | |"
    )
    import nncf
    import openvino as ov

    core = ov.Core()
    hint = {
        "INFERENCE_PRECISION_HINT": "f32",
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": configure_threads(),
    }
    calib = Calibration(model.tokenizer, names, calib_q, calib_d, args.max_length).batches
    compiled = {"ov-f32": core.compile_model(core.read_model(f32), "CPU", hint)}
    keep_attention = nncf.IgnoredScope(
        patterns=[".*attention.*", ".*classifier.*", ".*pooler.*"], validate=False
    )
    keep_ends = nncf.IgnoredScope(
        patterns=[".*layer\\.0/.*", ".*layer\\.5/.*", ".*classifier.*", ".*pooler.*"],
        validate=False,
    )
    for name, smooth, scope in (
        ("ov-int8-nncf", -1.0, None),
        ("ov-int8-nncf-smoothquant", 0.95, None),
        ("ov-int8-nncf-smoothquant-ffn-only", 0.95, keep_attention),
        ("ov-int8-nncf-smoothquant-middle-layers", 0.95, keep_ends),
    ):
        t = time.perf_counter()
        quantized = nncf.quantize(
            core.read_model(f32),
            nncf.Dataset(calib),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(calib),
            ignored_scope=scope,
            advanced_parameters=nncf.AdvancedQuantizationParameters(smooth_quant_alpha=smooth),
        )
        compiled[name] = core.compile_model(quantized, "CPU", hint)
        setup[name] = time.perf_counter() - t
    for name, path in [*variants.items(), *compiled.items()]:
        if name.startswith("ov-"):
            scores, seconds = ov_scores(
                path, model.tokenizer, queries, docs, args.max_length, args.batch_size
            )
        else:
            scores, seconds = ort_scores(
                path, model.tokenizer, queries, docs, args.max_length, args.batch_size
            )
        print(
            f"| {name} | {seconds:.2f} | {len(queries) / seconds:.1f} | {anchor_s / seconds:.2f}x | {np.abs(scores - anchor).max():.4f} "
            f"| {per_query_tau(queries, anchor, scores):.4f} | {setup.get(name, 0):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Which int8 quantisation of the cross-encoder keeps per-query tau >= 0.99, and how fast (ONNX Runtime, CPU).

Needs the float32 export of the bench model in the cache (run bench_teacher_scoring.py first),
or an exported model.onnx as the first argument:
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/probe_int8_cross_encoder.py
"""

import sys
import time

import numpy as np

sys.path.insert(0, "evaluation")
import onnx
import onnxruntime as ort
from bench_teacher_scoring import per_query_tau, real_pairs
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoTokenizer

from rankdistill.core.paths import cache_dir
from rankdistill.encoders.models import resolve_model

# the bench's seeded MiniLM cross-encoder export (<weights>-256, not a -dense- one), or argv[1]
src = (
    sys.argv[1]
    if len(sys.argv) > 1
    else str(
        next(
            p
            for p in sorted((cache_dir() / "onnx").glob("*-256/model.onnx"))
            if "-dense-" not in str(p)
        )
    )
)
tok = AutoTokenizer.from_pretrained(resolve_model("all-MiniLM-L6-v2"))
queries, docs = real_pairs(1000, 10)
m = onnx.load(src)
matmuls = [n.name for n in m.graph.node if n.op_type in ("MatMul", "Gemm")]
print(len(matmuls), matmuls[:3], matmuls[-3:])
variants = {
    "f32": None,
    "dyn": dict(),
    "dyn-perchannel": dict(per_channel=True),
    "dyn-ffn-only": dict(
        nodes_to_exclude=[
            n
            for n in matmuls
            if "intermediate" not in n and "output/dense" not in n or "attention" in n
        ]
    ),
    "dyn-perchannel-ffn": dict(
        per_channel=True,
        nodes_to_exclude=[
            n
            for n in matmuls
            if "intermediate" not in n and "output/dense" not in n or "attention" in n
        ],
    ),
}


def run(path):
    s = ort.SessionOptions()
    s.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, s, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    order = np.argsort([-(len(q) + len(d)) for q, d in zip(queries, docs)], kind="stable")
    out = np.empty(len(queries), np.float32)
    t = time.perf_counter()
    for st in range(0, len(order), 32):
        rows = order[st : st + 32]
        b = tok(
            [queries[i] for i in rows],
            [docs[i] for i in rows],
            padding=True,
            truncation="longest_first",
            max_length=256,
            return_tensors="np",
        )
        out[rows] = sess.run(None, {n: b[n].astype(np.int64) for n in names})[0][:, 0]
    return out, time.perf_counter() - t


res = {}
for name, opts in variants.items():
    path = src if opts is None else f"/tmp/ce-{name}.onnx"
    if opts is not None:
        quantize_dynamic(src, path, weight_type=QuantType.QInt8, **opts)
    res[name] = run(path)
    print(
        name,
        f"{res[name][1]:.1f}s",
        f"{res['f32'][1] / res[name][1]:.2f}x",
        f"tau {per_query_tau(queries, res['f32'][0], res[name][0]):.4f}",
        flush=True,
    )

"""Is bf16 native here? One 32x256x384 -> 1536 Linear, 10 calls, float32 against bf16 autocast.

Native bf16 (AMX / AVX512-BF16) makes bf16 several times faster; with torch and oneDNN kept off
those instructions, as on an AVX2-only CPU, bf16 is several times slower
(evaluation/studies/02-bench_dense_encode.md):
    .venv/bin/python evaluation/probe_bf16_linear.py
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 .venv/bin/python evaluation/probe_bf16_linear.py
"""

import time

import torch

torch.set_num_threads(2)
x = torch.randn(32 * 256, 384)
lin = torch.nn.Linear(384, 1536)


def t(bf):
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf):
        lin(x)
        s = time.perf_counter()
        for _ in range(10):
            lin(x)
        return time.perf_counter() - s


print(torch.backends.cpu.get_cpu_capability(), f"f32 {t(False):.3f} bf16 {t(True):.3f}")

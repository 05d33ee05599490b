"""Query-side training steps over N memory-mapped frozen vectors: step time and memory against N.

    python evaluation/scale/query_side_steps.py 100000 1000000 10000000 \
        --vectors-dir /work/scale_data/vectors --out evaluation/scale/results/query_side.jsonl

Each size runs in its own process (so each peak is its own). The frozen corpus is N random unit
vectors of 384 dimensions (what all-MiniLM-L6-v2 writes; a step's cost does not depend on what the
vectors say) in one float32 .npy file, opened memory-mapped as `train_query_side` opens the
encodings' `vectors.npy`. A step is the training loop's own code: all-MiniLM-L6-v2 encodes 32
SciFact training queries under the run's autocast, `sampled_columns` draws the batch's corpus
columns (each row's 4 listed documents plus `--sample` uniform others, logQ-corrected; the
default 65,536, as a run above 500,000 documents uses), `QuerySideLoss` computes the default
recipe's loss (listwise KL 0.3 + InfoNCE 1), then backward and an AdamW step. Below the sample
size every document is a column (the full softmax). Recorded: median step seconds after 3 warm-up
steps, peak RSS, and the peak of anonymous memory (RSS without the vectors' file-backed pages).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from stage import cpu_record

DIMENSION = 384
BLOCK = 1_000_000


def vectors_file(folder: Path, n: int, seed: int = 13) -> Path:
    """N random unit vectors in `folder/frozen-N.npy`, written once in blocks (atomic rename)."""
    path = folder / f"frozen-{n}.npy"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npy")
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32, shape=(n, DIMENSION))
    rng = np.random.default_rng(seed)
    for start in range(0, n, BLOCK):
        block = rng.standard_normal((min(BLOCK, n - start), DIMENSION), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + len(block)] = block
    out.flush()
    del out
    os.replace(partial, path)
    return path


def memory_gb() -> tuple[float, float]:
    """(peak RSS, current anonymous RSS) in GB, from /proc/self/status."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "RssAnon"):
            fields[key] = int(value.split()[0]) / 1024**2
    return fields["VmHWM"], fields["RssAnon"]


def measure(path: Path, steps: int, sample: int, seed: int, device: str = "cpu") -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    from rankdistill.core.hardware import inference_autocast, resolve_precision
    from rankdistill.data.open import open_dataset
    from rankdistill.encoders.models import resolve_model
    from rankdistill.training.corpus_sampling import sampled_columns
    from rankdistill.training.query_side import QuerySideLoss, _encode_queries

    torch.manual_seed(seed)
    vectors = np.load(path, mmap_mode="c")
    corpus = torch.from_numpy(vectors)  # no copy: the file's pages, read where indexed
    if device != "cpu":
        corpus = corpus.to(device)  # as train_query_side does: the frozen vectors on the device
    n = corpus.shape[0]
    model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device=device)
    model.max_seq_length = 64
    model.train()
    queries = list(open_dataset("scifact", "train").queries.values())
    precision = resolve_precision("auto", device)
    loss = QuerySideLoss(
        {
            "listwise_kl": {"weight": 0.3, "temperature": 1.0, "scale": 20},
            "infonce": {"weight": 1.0},
        },
        model,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    rng = np.random.default_rng(seed)
    times, anon_peak = [], 0.0
    for step in range(steps + 3):
        started = time.perf_counter()
        batch = [queries[i] for i in rng.integers(0, len(queries), 32)]
        listed = torch.from_numpy(rng.integers(0, n, (32, 4))).to(device)
        teacher = torch.from_numpy(rng.standard_normal((32, 4)).astype(np.float32)).to(device)
        with inference_autocast(torch.device(device).type, precision):
            encoded = _encode_queries(model, batch)
        draws = torch.Generator().manual_seed(seed * 1_000_003 + step)
        columns = sampled_columns(listed, [[] for _ in batch], n, sample, draws)  # all: full
        value, _ = loss(encoded, corpus, columns, teacher)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        if device != "cpu":
            torch.cuda.synchronize()
        if step >= 3:
            times.append(time.perf_counter() - started)
        anon_peak = max(anon_peak, memory_gb()[1])
    peak, _ = memory_gb()
    return {
        "stage": "query_side_step",
        "documents": n,
        "columns": "full softmax" if columns.columns.numel() == n else f"{sample} sampled",
        "steps": steps,
        "step_s_median": statistics.median(times),
        "step_s_p90": sorted(times)[int(0.9 * (len(times) - 1))],
        "peak_rss_gb": peak,
        "peak_anon_gb": anon_peak,
        "ru_maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "vectors_gb": path.stat().st_size / 1e9,
        "precision": precision,
        "device": device if device == "cpu" else torch.cuda.get_device_name(0),
        "cpu": cpu_name(),
        "python": platform.python_version(),
    }


def cpu_name() -> str:
    """The CPU model and its native bf16 flags, from `stage.cpu_record`."""
    cpu = cpu_record()
    flags = [f for f in ("avx512_bf16", "amx_bf16") if cpu[f]]
    return f"{cpu['model']} ({', '.join(flags) or 'no bf16 flags'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", type=int, nargs="*")
    parser.add_argument("--vectors-dir", type=Path, default=Path("/work/scale_data/vectors"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sample", type=int, default=65_536)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (evaluation/gpu_check.sh)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: measure one size
    args = parser.parse_args()
    if args.one is not None:
        path = vectors_file(args.vectors_dir, args.one, args.seed)
        result = measure(path, args.steps, args.sample, args.seed, args.device)
        with args.out.open("a") as handle:
            handle.write(json.dumps(result) + "\n")
        print(json.dumps(result))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        vectors_file(args.vectors_dir, n, args.seed)  # written before the child is timed
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--vectors-dir",
                str(args.vectors_dir),
                "--out",
                str(args.out),
                "--steps",
                str(args.steps),
                "--sample",
                str(args.sample),
                "--seed",
                str(args.seed),
                "--device",
                args.device,
            ],
            check=True,
        )


if __name__ == "__main__":
    main()

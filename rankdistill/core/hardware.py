"""What the machine can run fast: the precision, device and thread count every model uses.

    precision: auto | float32 | bf16 | fp16     (config key; `bf16: true|false` is an alias)
    device:    auto | cpu | cuda | cuda:N

`auto` precision is bf16 only where the hardware runs it natively: a CUDA device that supports
bf16, or a CPU whose capability torch reports as AVX512-BF16 or AMX. Anywhere else it is float32:
on an AVX2-only CPU bf16 autocast is emulated and 6-8x slower than float32 (../shared/findings.md).
fp16 is for CUDA only. The resolved precision (never `auto`) is what fingerprints, stage keys and
index manifests record, so scores made in bf16 on one machine never mix with float32 scores made
on another.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

from rankdistill.core.errors import UserError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "bf16", "fp16")
CONCRETE = ("float32", "bf16", "fp16")
NATIVE_BF16_CPUS = ("AMX", "AVX512_BF16")


@dataclass(frozen=True)
class PrecisionChoice:
    precision: str  # float32 | bf16 | fp16
    reason: str


def cpu_capability() -> str:
    """The CPU's best vector extension for bf16 work as torch sees it: AMX, AVX512_BF16, or
    torch's own capability string (AVX512, AVX2, DEFAULT, ...). $RANKDISTILL_CPU_CAPABILITY
    overrides it (the tests run as on an AVX2 CPU wherever they run). ONEDNN_MAX_CPU_ISA and
    ATEN_CPU_CAPABILITY, which keep torch off the bf16 instructions, are honoured."""
    override = os.environ.get("RANKDISTILL_CPU_CAPABILITY")
    if override:
        return override
    import torch

    limit = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    if limit != "ALL" and not any(part in limit for part in ("BF16", "AMX", "FP16")):
        return limit  # oneDNN was told not to use the bf16 instructions the CPU has
    capability = torch.backends.cpu.get_cpu_capability()
    if not capability.startswith("AVX512"):
        return capability  # ATEN_CPU_CAPABILITY caps what torch dispatches to
    if torch.cpu._is_amx_tile_supported():
        return "AMX"
    if torch.cpu._is_avx512_bf16_supported():
        return "AVX512_BF16"
    return capability


def cuda_supports_bf16() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def resolve_device(device: str | None = "auto") -> str:
    """`auto` (or None): cuda when a CUDA device is present, else cpu; anything else as given."""
    if device in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def choose_precision(
    requested: str | bool | None = "auto", device: str | None = "auto"
) -> PrecisionChoice:
    """The concrete precision for `requested` on `device`, and why. A bool is the `bf16` alias."""
    if isinstance(requested, bool):
        requested = "bf16" if requested else "float32"
    requested = requested or "auto"
    if requested not in PRECISIONS:
        raise UserError(f"unknown precision {requested!r}: expected one of {', '.join(PRECISIONS)}")
    kind = resolve_device(device).split(":")[0]
    if requested == "fp16" and kind != "cuda":
        raise UserError("precision fp16 runs on CUDA only; use auto, float32 or bf16 on a CPU")
    if requested != "auto":
        if requested == "bf16" and kind == "cpu" and cpu_capability() not in NATIVE_BF16_CPUS:
            log.warning(
                "bf16 on a CPU without native bf16 (%s) is emulated and several times slower than float32",
                cpu_capability(),
            )
        return PrecisionChoice(requested, "set in the config")
    if kind == "cuda":
        if cuda_supports_bf16():
            return PrecisionChoice("bf16", "auto: the CUDA device supports bf16")
        return PrecisionChoice("float32", "auto: the CUDA device has no bf16")
    capability = cpu_capability()
    if capability in NATIVE_BF16_CPUS:
        return PrecisionChoice("bf16", f"auto: the CPU runs bf16 natively ({capability})")
    return PrecisionChoice(
        "float32",
        f"auto: the CPU has no native bf16 ({capability}), where bf16 is emulated and slower",
    )


def resolve_precision(requested: str | bool | None = "auto", device: str | None = "auto") -> str:
    """`choose_precision(...).precision`: float32, bf16 or fp16, never auto."""
    return choose_precision(requested, device).precision


def precision_fields(precision: str) -> dict[str, object]:
    """What a fingerprint records about a concrete precision. float32 records nothing and bf16
    `bf16: true`, as before `precision` existed, so earlier scores and indexes keep their keys."""
    if precision == "float32":
        return {}
    if precision == "bf16":
        return {"bf16": True}
    return {"precision": precision}


def trainer_precision(precision: str) -> dict[str, bool]:
    """The mixed-precision flags of transformers' TrainingArguments for a concrete precision."""
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def inference_autocast(device_type: str, precision: str) -> contextlib.AbstractContextManager:
    """Autocast to `precision` for inference (weights stay float32); nothing for float32."""
    if precision == "float32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(
        device_type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16
    )


def _cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in cores (v2 `cpu.max` or v1 cfs files), if any."""
    try:
        quota, _, period = (root / "cpu.max").read_text().partition(" ")
        if quota.strip() != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def available_cpus(root: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this process may use: its affinity mask, capped by its cgroup quota (a
    container's `--cpus`), never the host's core count."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    limit = _cgroup_cpu_limit(root)
    if limit is not None:
        count = min(count, max(1, math.ceil(limit)))
    return max(1, count)


def add_precision_argument(parser: argparse.ArgumentParser, what: str = "models") -> None:
    """`--precision auto|float32|bf16|fp16` (default auto) and `--bf16`, its older alias."""
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help=f"precision of {what}: auto (bf16 where the hardware runs it natively, else float32), float32, bf16, fp16 (CUDA)",
    )
    parser.add_argument(
        "--bf16",
        dest="precision",
        action="store_const",
        const="bf16",
        help="alias of --precision bf16",
    )


def hardware_record() -> dict[str, object]:
    """What a run report says about the machine: device, CPU capability, threads."""
    return {
        "device": resolve_device("auto"),
        "cpu_capability": cpu_capability(),
        "threads": configure_threads(),
    }


@functools.cache
def configure_threads() -> int:
    """Size torch's and faiss's thread pools to `available_cpus()` (once per process), shared
    among the processes torchrun starts on this node (LOCAL_WORLD_SIZE), so ranks do not
    oversubscribe the cores; the exported runtimes (ONNX Runtime, OpenVINO) take the same number.
    `RANKDISTILL_THREADS=N` overrides it: on cores another job also uses, one thread each is
    faster than two threads each fighting for them (a cross-encoder training step measured 1.5 s
    with 1 thread against 3.6 s with 2, beside another 1-core job on 2 cores)."""
    override = os.environ.get("RANKDISTILL_THREADS", "").strip()
    if override.isdigit() and int(override) > 0:
        threads = int(override)
    else:
        threads = max(1, available_cpus() // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", 1))))
    import torch

    torch.set_num_threads(threads)
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
    except ImportError:
        pass
    log.info("threads: %d (CPUs this process may use)", threads)
    return threads

"""Models exported once to ONNX and run by ONNX Runtime or OpenVINO: the CPU backends shared by
dense encoders (rankdistill.retrieval.dense_exported) and cross-encoder teachers
(rankdistill.teachers.exported). sentence-transformers' own ONNX and OpenVINO backends need
optimum, whose pins downgrade transformers; this exports with `torch.onnx.export` directly.

    <cache>/onnx/<key>/model.onnx        float32 (`onnx`, `openvino`)
    <cache>/onnx/<key>/model-int8.onnx   int8 MatMul weights, dynamically quantised (`onnx-int8`)

A folder appears whole (built in a temporary sibling, then renamed), so a killed export leaves
nothing half-written behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.core.hardware import configure_threads, resolve_device
from rankdistill.core.paths import cache_dir

BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "openvino")
FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx", "openvino": "model.onnx"}


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def auto_backend(precision: str, device: str | None = None) -> str:
    """What `backend: auto` names for a cross-encoder at a resolved precision: OpenVINO for bf16 on
    a CPU where it is installed (the fastest scorer that keeps the ranking), torch otherwise
    (OpenVINO and ONNX Runtime in float32 are slower than torch float32;
    evaluation/studies/03-bench_teacher_scoring.md). Dense encoders take torch always
    (rankdistill.retrieval.dense.load_dense_model, evaluation/studies/02-bench_dense_encode.md)."""
    if precision == "bf16" and resolve_device(device) == "cpu" and openvino_available():
        return "openvino"
    return "torch"


def resolve_backend(backend: str, precision: str, device: str | None = None) -> tuple[str, str]:
    """The concrete (backend, precision) for a model: precision per `resolve_precision`, then the
    `auto` backend per `auto_backend`; the ONNX Runtime backends compute in float32, so `auto`
    precision is float32 there and bf16 an error."""
    from rankdistill.core.hardware import resolve_precision

    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend in ("onnx", "onnx-int8"):
        if precision not in ("auto", "float32"):
            raise UserError(
                f"backend {backend!r} runs float32: set precision float32 (or use the openvino backend)"
            )
        precision = "float32"
    precision = resolve_precision(precision, device)
    if backend == "auto":
        backend = auto_backend(precision, device)
    return backend, precision


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise UserError(
            "the onnx backends need onnxruntime and onnx: pip install onnxruntime onnx"
        ) from None
    return onnxruntime


def _quantize(folder: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(folder / FILES["onnx"]), str(folder / FILES["onnx-int8"]), weight_type=QuantType.QInt8
    )


def exported_file(
    key: str, backend: str, export: Callable[[Path], None], root: Path | None = None
) -> Path:
    """The ONNX file of `backend` (onnx, onnx-int8, openvino) under `<root>/<key>/`; `export(path)`
    writes the float32 model.onnx the first time, and int8 is quantised from it."""
    folder = (root or cache_dir() / "onnx") / key
    if not (folder / FILES[backend]).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            if (folder / FILES["onnx"]).is_file():
                shutil.copy2(folder / FILES["onnx"], work / FILES["onnx"])
            else:
                export(work / FILES["onnx"])
            if backend == "onnx-int8":
                _quantize(work)
            if folder.exists():  # float32 only, from an earlier call: add the new file to it
                for path in work.iterdir():
                    os.replace(path, folder / path.name)
            else:
                os.replace(work, folder)
        finally:  # whatever was not moved into place
            shutil.rmtree(work, ignore_errors=True)
    return folder / FILES[backend]


def export_onnx(
    module: Any,
    example: dict[str, Any],
    input_names: list[str],
    output_names: list[str],
    path: Path,
) -> None:
    """`module(*inputs)` exported to `path` with dynamic batch and sequence axes."""
    import torch

    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            module,
            tuple(example[name] for name in input_names),
            str(path),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes={**axes, **{name: {0: "batch"} for name in output_names}},
            opset_version=17,
            dynamo=False,
        )


class Runtime:
    """One exported model compiled for the CPU: `run(feeds) -> first output`."""

    def __init__(self, path: Path, backend: str, precision: str = "float32"):
        if backend == "openvino":
            self._init_openvino(path, precision)
        else:
            runtime = import_onnxruntime()
            options = runtime.SessionOptions()
            options.intra_op_num_threads = configure_threads()
            self.session = runtime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
            self.inputs = [i.name for i in self.session.get_inputs()]
            self.run = lambda feeds: self.session.run(None, feeds)[0]

    def _init_openvino(self, path: Path, precision: str) -> None:
        """With an explicit precision hint: OpenVINO would otherwise pick bf16 by itself on some
        CPUs, and fingerprints must say which one made the scores or vectors."""
        try:
            import openvino
        except ImportError:
            raise UserError("the openvino backend needs openvino: pip install openvino") from None
        if precision == "fp16":
            raise UserError("the openvino backend runs float32 or bf16 on a CPU, not fp16")
        core = openvino.Core()
        if precision == "bf16" and "BF16" not in core.get_property(
            "CPU", "OPTIMIZATION_CAPABILITIES"
        ):
            raise UserError(
                "the openvino backend with bf16 needs a CPU with bf16 instructions; use precision auto or float32 on this one"
            )
        config = {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": configure_threads(),
        }
        compiled = core.compile_model(str(path), "CPU", config)
        output = compiled.outputs[0]
        self.inputs = [i.get_any_name() for i in compiled.inputs]
        self.run = lambda feeds: compiled(feeds)[output]


def int64_feeds(batch: Any, names: list[str]) -> dict[str, np.ndarray]:
    return {name: batch[name].astype(np.int64) for name in names}

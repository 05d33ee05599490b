"""Cross-encoder inference from an exported model: the model exported once to ONNX (float32, or
with int8 dynamically quantised MatMul weights), cached by weights hash, and run in length-sorted
batches by ONNX Runtime (`onnx`, `onnx-int8`) or OpenVINO (`openvino`, float32 or bf16 by
precision hint; on a CPU with bf16 instructions the fastest path measured,
evaluation/bench_teacher_scoring.md). sentence-transformers' own ONNX and OpenVINO backends need
optimum, whose pins downgrade transformers; this exports with `torch.onnx.export` directly.

    <cache>/onnx/<weights sha256[:16]>-<max length>/model.onnx        float32 (`onnx`, `openvino`)
    <cache>/onnx/<weights sha256[:16]>-<max length>/model-int8.onnx   int8 weights (`onnx-int8`)

A folder appears whole (built in a temporary sibling, then renamed), so a killed export leaves
nothing half-written behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.errors import UserError
from rankdistill.hardware import configure_threads
from rankdistill.paths import cache_dir

BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "openvino")
FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx", "openvino": "model.onnx"}


def auto_backend(device: str | None = None) -> str:
    """The cross-encoder backend `auto` names: OpenVINO on a CPU where it is installed (the
    fastest path that keeps the ranking, evaluation/bench_teacher_scoring.md), torch elsewhere."""
    from rankdistill.hardware import resolve_device

    if resolve_device(device) != "cpu":
        return "torch"
    try:
        import openvino  # noqa: F401
    except ImportError:
        return "torch"
    return "openvino"


def _import_runtime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise UserError("the onnx backends need onnxruntime and onnx: pip install onnxruntime onnx") from None
    return onnxruntime


def _export(model: Any, folder: Path, input_names: list[str]) -> None:
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(input_names, inputs))).logits

    example = model.tokenizer([("a query", "a document")], return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            Logits(model.model.eval()),
            tuple(example[name] for name in input_names),
            str(folder / FILES["onnx"]),
            input_names=input_names,
            output_names=["logits"],
            dynamic_axes={**axes, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def _quantize(folder: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(folder / FILES["onnx"]), str(folder / FILES["onnx-int8"]), weight_type=QuantType.QInt8)


def exported_model(model: Any, weights: str, max_length: int, backend: str, root: Path | None = None) -> Path:
    """The ONNX file for `model` (a CrossEncoder) and `backend` (onnx, onnx-int8 or openvino; the
    teacher checks the name), exported on first use."""
    _import_runtime()
    folder = (root or cache_dir() / "onnx") / f"{weights[:16]}-{max_length}"
    if not (folder / FILES[backend]).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            if (folder / FILES["onnx"]).is_file():
                shutil.copy2(folder / FILES["onnx"], work / FILES["onnx"])
            else:
                input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in model.tokenizer.model_input_names]
                _export(model, work, input_names)
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


class ExportedCrossEncoder:
    """`predict(pairs)` -> one raw logit per pair; subclasses run one batch of int64 feeds."""

    def __init__(self, model: Any, max_length: int, inputs: list[str]):
        self.tokenizer = model.tokenizer
        self.max_length = max_length
        self.inputs = inputs

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def predict(self, pairs: list[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        # longest first by characters, as sentence-transformers does: batches pad to similar lengths
        order = np.argsort([-(len(q) + len(d)) for q, d in pairs], kind="stable")
        scores = np.empty(len(pairs), dtype=np.float32)
        for start in range(0, len(pairs), batch_size):
            rows = order[start : start + batch_size]
            batch = self.tokenizer(
                [pairs[i] for i in rows], padding=True, truncation="longest_first", max_length=self.max_length, return_tensors="np"
            )
            scores[rows] = self.run({name: batch[name].astype(np.int64) for name in self.inputs})
        return scores


class OnnxCrossEncoder(ExportedCrossEncoder):
    """Through an ONNX Runtime session (float32 or int8 weights, whichever file it is given)."""

    def __init__(self, model: Any, path: Path, max_length: int, threads: int | None = None):
        runtime = _import_runtime()
        options = runtime.SessionOptions()
        options.intra_op_num_threads = threads or configure_threads()
        self.session = runtime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        super().__init__(model, max_length, [i.name for i in self.session.get_inputs()])

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, feeds)[0][:, 0]


class OpenVinoCrossEncoder(ExportedCrossEncoder):
    """Through OpenVINO on the CPU, with an explicit precision hint: OpenVINO would otherwise pick
    bf16 by itself on some CPUs, and the fingerprint must say which one made the scores."""

    def __init__(self, model: Any, path: Path, max_length: int, precision: str):
        try:
            import openvino
        except ImportError:
            raise UserError("the openvino backend needs openvino: pip install openvino") from None
        core = openvino.Core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise UserError("the openvino backend with bf16 needs a CPU with bf16 instructions; use precision auto or float32 on this one")
        config = {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": configure_threads(),
        }
        self.compiled = core.compile_model(str(path), "CPU", config)
        self.output = self.compiled.outputs[0]
        super().__init__(model, max_length, [i.get_any_name() for i in self.compiled.inputs])

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.compiled(feeds)[self.output][:, 0]

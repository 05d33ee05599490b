"""Cross-encoder inference from an exported model (rankdistill.retrieval.exported): the model
exported once to ONNX, cached by weights hash and max length, and run in length-sorted batches by
ONNX Runtime (`onnx`, `onnx-int8`) or OpenVINO (`openvino`, float32 or bf16 by precision hint; on
a CPU with bf16 instructions the fastest path measured, evaluation/studies/03-bench_teacher_scoring.md).

    <cache>/onnx/<weights sha256[:16]>-<max length>/model.onnx | model-int8.onnx
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.retrieval.exported import (
    Runtime,
    export_onnx,
    exported_file,
    import_onnxruntime,
    int64_feeds,
)

__all__ = ["ExportedCrossEncoder", "exported_model"]


def _export(model: Any, input_names: list[str], path: Path) -> None:
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(input_names, inputs))).logits

    example = model.tokenizer([("a query", "a document")], return_tensors="pt")
    export_onnx(Logits(model.model.eval()), example, input_names, ["logits"], path)


def exported_model(
    model: Any, weights: str, max_length: int, backend: str, root: Path | None = None
) -> Path:
    """The ONNX file for `model` (a CrossEncoder) and `backend` (onnx, onnx-int8 or openvino; the
    teacher checks the name), exported on first use."""
    import_onnxruntime()
    input_names = [
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in model.tokenizer.model_input_names
    ]
    return exported_file(
        f"{weights[:16]}-{max_length}",
        backend,
        lambda path: _export(model, input_names, path),
        root,
    )


class ExportedCrossEncoder:
    """`predict(pairs)` -> one raw logit per pair, through an exported model's runtime."""

    def __init__(
        self, model: Any, path: Path, max_length: int, backend: str, precision: str = "float32"
    ):
        self.tokenizer = model.tokenizer
        self.max_length = max_length
        self.runtime = Runtime(path, backend, precision)

    def predict(self, pairs: list[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        # longest first by characters, as sentence-transformers does: batches pad to similar lengths
        order = np.argsort([-(len(q) + len(d)) for q, d in pairs], kind="stable")
        scores = np.empty(len(pairs), dtype=np.float32)
        for start in range(0, len(pairs), batch_size):
            rows = order[start : start + batch_size]
            batch = self.tokenizer(
                [pairs[i] for i in rows],
                padding=True,
                truncation="longest_first",
                max_length=self.max_length,
                return_tensors="np",
            )
            scores[rows] = self.runtime.run(int64_feeds(batch, self.runtime.inputs))[:, 0]
        return scores

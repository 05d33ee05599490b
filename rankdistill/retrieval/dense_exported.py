"""A SentenceTransformer's encoder run by ONNX Runtime or OpenVINO (rankdistill.retrieval.exported):
the transformer body is exported once to ONNX; tokenisation, pooling and normalisation stay
here. It serves models made of Transformer -> Pooling (mean or cls) [-> Normalize] without
prompts, which covers all-MiniLM-L6-v2 and the students rankdistill trains from it; anything else
is refused with a clear error (use backend torch). evaluation/studies/02-bench_dense_encode.md measures
each backend's speed and nDCG@10 against plain `SentenceTransformer.encode`.

    <cache>/onnx/<weights sha256[:16]>-dense-<max length>/model.onnx | model-int8.onnx
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.core.errors import UserError
from rankdistill.retrieval.exported import Runtime, export_onnx, exported_file, int64_feeds

POOLING = ("mean", "cls")


def _pooling_mode(model: Any) -> tuple[str, bool]:
    """(pooling mode, normalises) of a supported module stack, else a UserError."""
    names = [type(module).__name__ for module in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise UserError(
            f"exported dense backends serve Transformer -> Pooling [-> Normalize] models, this one is {' -> '.join(names)}: use backend torch"
        )
    mode = model[1].get_config_dict().get("pooling_mode", "mean")
    if mode not in POOLING:
        raise UserError(
            f"exported dense backends pool by {' or '.join(POOLING)}, this model by {mode!r}: use backend torch"
        )
    if any(model.prompts.values()):
        raise UserError(
            "exported dense backends do not add prompts, and this model has some: use backend torch"
        )
    return mode, len(names) == 3


class ExportedDenseModel:
    """What rankdistill reads of a SentenceTransformer (`encode_query`, `encode_document`,
    `max_seq_length`, `device`, `similarity_fn_name`, the embedding dimension), with the
    transformer body run by an exported runtime."""

    def __init__(
        self, model: Any, weights: str, backend: str, precision: str, root: Path | None = None
    ):
        self.pooling, self.normalizes = _pooling_mode(model)
        self.tokenizer = model.tokenizer
        self.max_seq_length = model.max_seq_length
        self.device = model.device
        self.similarity_fn_name = model.similarity_fn_name
        self.dimension = model.get_embedding_dimension()
        body = model[0].auto_model.eval()
        names = [
            n
            for n in ("input_ids", "attention_mask", "token_type_ids")
            if n in self.tokenizer.model_input_names
        ]
        key = f"{weights[:16]}-dense-{self.max_seq_length}"
        path = exported_file(key, backend, lambda target: self._export(body, names, target), root)
        self.runtime = Runtime(path, backend, precision)

    def _export(self, body: Any, names: list[str], path: Path) -> None:
        import torch

        class Hidden(torch.nn.Module):
            def __init__(self, inner: Any):
                super().__init__()
                self.inner = inner

            def forward(self, *inputs: Any) -> Any:
                return self.inner(**dict(zip(names, inputs))).last_hidden_state

        export_onnx(
            Hidden(body),
            self.tokenizer(["an example text"], return_tensors="pt"),
            names,
            ["last_hidden_state"],
            path,
        )

    def get_embedding_dimension(self) -> int:
        return self.dimension

    get_sentence_embedding_dimension = get_embedding_dimension

    def encode_document(
        self, texts: list[str], normalize_embeddings: bool = False, **_: Any
    ) -> np.ndarray:
        """One batch (callers batch by length): token vectors pooled, then normalised."""
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="np",
        )
        hidden = np.asarray(
            self.runtime.run(int64_feeds(batch, self.runtime.inputs)), dtype=np.float32
        )
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        if self.normalizes or normalize_embeddings:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    encode_query = encode_document  # no prompts (checked), so both sides encode alike

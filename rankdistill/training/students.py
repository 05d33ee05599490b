"""Students and the loss each trains with.

- dense: a SentenceTransformer from any folder, catalogue alias or hub id (default
  all-MiniLM-L6-v2); with `matryoshka_dims`, ST's MatryoshkaLoss sums the loss over those
  nested prefixes (Kusupati et al.), and the dev evaluation reports every dimension.
- cross-encoder: a one-logit sentence-transformers CrossEncoder from any CrossEncoder folder or
  BERT-style body (a SentenceTransformer or SPLADE folder: the transformer is kept, a fresh
  classification head added); `layers: N` keeps the body's first N transformer layers (the
  config's `num_hidden_layers`, so the later layers' weights are never loaded), `layers: [0, 5]`
  the layers named (0-based). Its loss is
  `rankdistill.losses.cross_encoder`: the list losses on the pair logits.
- sparse: a SPLADE SparseEncoder (SPLADE-tiny, or any ForMaskedLM checkpoint, which ST turns into
  MLM head + SPLADE max pooling); ST's SpladeLoss adds FLOPS regularisation on query and document
  weights, warmed up from 0 by ST's SpladeRegularizerWeightSchedulerCallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from transformers import TrainerCallback

from rankdistill.core.errors import UserError
from rankdistill.encoders.models import resolve_model
from rankdistill.losses import build_loss, forward_features_to
from rankdistill.training.config import StudentConfig


@dataclass
class Student:
    model: nn.Module  # SentenceTransformer or SparseEncoder
    loss: nn.Module
    callbacks: list[TrainerCallback]


def load_student(config: StudentConfig, device: str | None = None) -> nn.Module:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sparse_encoder import SparseEncoder

    path = resolve_model(config.model)
    model = (
        SentenceTransformer(path, device=device)
        if config.kind == "dense"
        else SparseEncoder(path, device=device)
    )
    if config.max_length:
        model.max_seq_length = config.max_length
    return model


def load_cross_encoder(config: StudentConfig, device: str | None = None) -> nn.Module:
    """The cross-encoder student `config` describes, before training. `layers: N` loads the first
    N layers only (the config's `num_hidden_layers`); `layers: [i, j, ..]` loads the whole body and
    keeps those layers, in order (the saved student is then a plain len([i, j, ..])-layer model)."""
    import json
    from pathlib import Path

    from sentence_transformers.cross_encoder import CrossEncoder

    path = resolve_model(config.model)
    wanted = config.layers
    file = Path(path) / "config.json"
    available = (
        json.loads(file.read_text(encoding="utf-8")).get("num_hidden_layers")
        if file.is_file()
        else None
    )
    if isinstance(wanted, int) and available is not None and wanted > available:
        raise UserError(
            f"student.layers: {wanted} exceeds the {available} layers of {config.model}"
        )
    if isinstance(wanted, list) and available is not None and max(wanted) >= available:
        raise UserError(
            f"student.layers: layer {max(wanted)} does not exist in the {available} layers (0..{available - 1}) of {config.model}"
        )
    config_kwargs = {"num_hidden_layers": wanted} if isinstance(wanted, int) else None
    model = CrossEncoder(
        path, num_labels=1, max_length=config.max_length, device=device, config_kwargs=config_kwargs
    )
    if model.num_labels != 1:
        raise UserError(
            f"{config.model}: a cross-encoder student needs one output label, this one has {model.num_labels}"
        )
    if isinstance(wanted, list):
        keep_layers(model, wanted, config.model)
    return model


def keep_layers(model: nn.Module, indices: list[int], name: str) -> None:
    """Keep the transformer layers `indices` of a CrossEncoder's body (embeddings, pooler and head
    stay); its config then says len(indices) layers, so the saved model reloads as it is."""
    hf = model[0].model
    body = getattr(hf, getattr(hf, "base_model_prefix", ""), None)
    layer_list = getattr(getattr(body, "encoder", None), "layer", None)
    if not isinstance(layer_list, nn.ModuleList):
        raise UserError(
            f"student.layers: a list of layers needs a BERT-style body (encoder.layer), which {name} does not have"
        )
    if max(indices) >= len(layer_list):
        raise UserError(
            f"student.layers: layer {max(indices)} does not exist in the {len(layer_list)} layers of {name}"
        )
    body.encoder.layer = nn.ModuleList([layer_list[i] for i in indices])
    hf.config.num_hidden_layers = len(indices)
    body.config.num_hidden_layers = len(indices)


def build_student(config: StudentConfig, loss_spec, device: str | None = None) -> Student:
    if config.kind == "cross-encoder":
        from rankdistill.losses.cross_encoder import build_cross_encoder_loss

        model = load_cross_encoder(config, device)
        return Student(model, build_cross_encoder_loss(loss_spec, model), [])
    model = load_student(config, device)
    if config.kind == "dense":
        if not config.matryoshka_dims:
            return Student(model, build_loss(loss_spec, model), [])
        from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss

        full = model.get_embedding_dimension()
        if max(config.matryoshka_dims) > full:
            raise UserError(
                f"student.matryoshka_dims: {max(config.matryoshka_dims)} exceeds the model's {full} dimensions"
            )
        inner = build_loss(loss_spec, model, return_components=False)  # MatryoshkaLoss sums tensors
        return Student(model, MatryoshkaLoss(model, inner, config.matryoshka_dims), [])

    from sentence_transformers.sparse_encoder.callbacks import (
        SpladeRegularizerWeightSchedulerCallback,
    )
    from sentence_transformers.sparse_encoder.losses import SpladeLoss

    inner = build_loss(loss_spec, model)
    loss = SpladeLoss(
        model,
        inner,
        document_regularizer_weight=config.document_regularizer_weight,
        query_regularizer_weight=config.query_regularizer_weight,
    )
    forward_features_to(loss, inner)
    warmup = SpladeRegularizerWeightSchedulerCallback(
        loss, warmup_ratio=config.regularizer_warmup_ratio
    )
    return Student(model, loss, [warmup])

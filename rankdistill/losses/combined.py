"""Weighted sums of losses: L = sum_i w_i * L_i (e.g. listwise KL + 0.1 InfoNCE).

Every part sees the same embeddings (the batch is encoded once). With `return_components` the
loss returns `{name: w_i * L_i}`, which sentence-transformers' trainer sums and logs per part
(and ST's SpladeLoss passes through); wrappers that need one tensor (MatryoshkaLoss) get the sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from sentence_transformers.base.losses.merged_forward import embed_columns
from torch import Tensor, nn


class WeightedSum(nn.Module):
    name = "combined"

    def __init__(
        self,
        model: nn.Module,
        parts: dict[str, tuple[float, nn.Module]],
        return_components: bool = True,
    ):
        super().__init__()
        self.model = model
        self.weights = {name: float(weight) for name, (weight, _) in parts.items()}
        self.parts = nn.ModuleDict({name: loss for name, (_, loss) in parts.items()})
        self.return_components = return_components

    def observe_features(self, sentence_features: list[dict[str, Tensor]]) -> None:
        for loss in self.parts.values():
            if hasattr(loss, "observe_features"):
                loss.observe_features(sentence_features)

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None
    ) -> Tensor | dict[str, Tensor]:
        features = list(sentence_features)
        self.observe_features(features)
        return self.compute_loss_from_embeddings(embed_columns(self.model, features), labels)

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None
    ) -> Tensor | dict[str, Tensor]:
        components = {
            name: self.weights[name] * loss.compute_loss_from_embeddings(embeddings, labels)
            for name, loss in self.parts.items()
        }
        if self.return_components:
            return components
        return torch.stack(list(components.values())).sum()

    def get_config_dict(self) -> dict[str, Any]:
        return {
            name: {"weight": self.weights[name], **loss.get_config_dict()}
            for name, loss in self.parts.items()
        }

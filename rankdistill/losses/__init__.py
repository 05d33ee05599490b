"""Distillation losses, one module each, built from a config spec.

    build_loss("listwise_kl", model)
    build_loss({"listwise_kl": {"weight": 1.0, "temperature": 1.0}, "infonce": {"weight": 0.1}}, model)

A spec is a loss name, or a mapping of names to a weight or to a mapping of `weight` plus the
loss's parameters. One part with weight 1 gives that loss itself; anything else a `WeightedSum`.
Every loss expects columns (query, positive, negative_1..n) and, except InfoNCE, a label of the
teacher's n + 1 scores (positive first); see each module's docstring for its formula and paper.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

from torch import nn

from rankdistill.core.config import FLOAT32_MAX
from rankdistill.core.errors import UserError
from rankdistill.core.plugins import import_submodules
from rankdistill.losses.base import ListLoss, forward_features_to
from rankdistill.losses.combined import WeightedSum
from rankdistill.losses.cprd import cprd
from rankdistill.losses.hidden_mse import hidden_mse
from rankdistill.losses.infonce import info_nce
from rankdistill.losses.label_ce import label_ce
from rankdistill.losses.listnet import listnet
from rankdistill.losses.listwise_kl import listwise_kl
from rankdistill.losses.margin_mse import margin_mse
from rankdistill.losses.plackett_luce import plackett_luce
from rankdistill.losses.ranknet import ranknet
from rankdistill.losses.registry import (
    CROSS_ENCODER_TERMS,
    LOSSES,
    ONLY_FOR_CROSS_ENCODERS,
    REGISTRY,
    LossEntry,
    register_loss,
)
from rankdistill.losses.score_mse import score_mse
from rankdistill.losses.teacher_nce import teacher_nce

# every module of the package registers its losses when imported: a new loss is one new module
import_submodules(__name__)

__all__ = [
    "LOSSES",
    "REGISTRY",
    "LossEntry",
    "register_loss",
    "ListLoss",
    "WeightedSum",
    "build_loss",
    "parse_loss_spec",
    "forward_features_to",
    "margin_mse",
    "score_mse",
    "listwise_kl",
    "ranknet",
    "listnet",
    "plackett_luce",
    "cprd",
    "info_nce",
    "label_ce",
    "teacher_nce",
    "hidden_mse",
]


def loss_parameters(name: str) -> list[str]:
    """The parameters a loss takes from the config (everything but the model)."""
    cls = LOSSES.get(name) or CROSS_ENCODER_TERMS[name]
    return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "model")]


def parse_loss_spec(spec: Any) -> dict[str, tuple[float, dict[str, Any]]]:
    """`{name: (weight, params)}` from a spec; UserError naming the problem otherwise."""
    if isinstance(spec, str):
        spec = {spec: 1.0}
    if not isinstance(spec, Mapping) or not spec:
        raise UserError(
            f"a loss is a name or a mapping of names to weights or parameters, got {spec!r} (known: {', '.join(sorted(LOSSES))})"
        )
    parsed: dict[str, tuple[float, dict[str, Any]]] = {}
    for name, value in spec.items():
        if name not in LOSSES and name not in CROSS_ENCODER_TERMS:
            raise UserError(f"unknown loss {name!r} (known: {', '.join(sorted(REGISTRY))})")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, Mapping))
            and value is not None
        ):
            raise UserError(
                f"loss {name!r}: expected a weight or a mapping of parameters, got {value!r}"
            )
        params = (
            dict(value)
            if isinstance(value, Mapping)
            else {"weight": 1.0 if value is None else value}
        )
        weight = params.pop("weight", 1.0)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not 0 <= weight <= FLOAT32_MAX
        ):
            raise UserError(
                f"loss {name!r}: weight must be a number >= 0 and finite, got {weight!r}"
            )
        for (
            key,
            value,
        ) in params.items():  # no NaN, infinity or float32 overflow in a loss parameter
            if isinstance(value, float) and not (
                math.isfinite(value) and abs(value) <= FLOAT32_MAX
            ):
                raise UserError(
                    f"loss {name!r}: {key} must be a finite float32 number, got {value!r}"
                )
        allowed = loss_parameters(name)
        for key in params:
            if key not in allowed:
                raise UserError(
                    f"loss {name!r}: unknown parameter {key!r} (known: weight, {', '.join(allowed)})"
                )
        parsed[name] = (float(weight), params)
    return parsed


def build_loss(spec: Any, model: nn.Module, return_components: bool = True) -> nn.Module:
    """The loss module a spec describes, for `model` (a SentenceTransformer or SparseEncoder)."""
    parts = {}
    for name, (weight, params) in parse_loss_spec(spec).items():
        if ONLY_FOR_CROSS_ENCODERS.get(name):  # a sentence-transformers model: dense or sparse
            raise UserError(REGISTRY[name].refuses("dense"))
        try:
            parts[name] = (weight, LOSSES[name](model, **params))
        except (TypeError, ValueError) as exc:
            raise UserError(f"loss {name!r}: {exc}") from None
    if len(parts) == 1:
        ((weight, loss),) = parts.values()
        if weight == 1.0:
            return loss
    return WeightedSum(model, parts, return_components=return_components)

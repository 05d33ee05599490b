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
from collections.abc import Mapping
from typing import Any

from torch import nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import ListLoss, forward_features_to
from rankdistill.losses.combined import WeightedSum
from rankdistill.losses.cprd import CPRD, cprd
from rankdistill.losses.hidden_mse import HiddenStateMSE, hidden_mse
from rankdistill.losses.infonce import InfoNCE, info_nce
from rankdistill.losses.label_ce import LabelCE, label_ce
from rankdistill.losses.listnet import ListNet, listnet
from rankdistill.losses.listwise_kl import ListwiseKL, listwise_kl
from rankdistill.losses.margin_mse import MarginMSE, margin_mse
from rankdistill.losses.plackett_luce import PlackettLuce, plackett_luce
from rankdistill.losses.ranknet import RankNet, ranknet
from rankdistill.losses.score_mse import ScoreMSE, score_mse
from rankdistill.losses.teacher_nce import TeacherNCE, teacher_nce

LOSSES: dict[str, type[nn.Module]] = {
    "margin_mse": MarginMSE,
    "score_mse": ScoreMSE,
    "listwise_kl": ListwiseKL,
    "ranknet": RankNet,
    "listnet": ListNet,
    "plackett_luce": PlackettLuce,
    "cprd": CPRD,
    "infonce": InfoNCE,
    "label_ce": LabelCE,
    "teacher_nce": TeacherNCE,
}
NEEDS_TEACHER = {name for name in LOSSES if name not in ("infonce", "label_ce")}
# terms that read a cross-encoder's insides, not a score matrix: beside a list loss, for
# cross-encoder students only (rankdistill.losses.cross_encoder)
CROSS_ENCODER_TERMS: dict[str, type[nn.Module]] = {"hidden_mse": HiddenStateMSE}
ONLY_FOR_CROSS_ENCODERS = {
    "hidden_mse": "it matches a cross-encoder's token hidden states to its teacher's"
}

__all__ = [
    "LOSSES",
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
            f"a loss is a name or a mapping of names to weights or parameters, got {spec!r} (known: {', '.join(LOSSES)})"
        )
    parsed: dict[str, tuple[float, dict[str, Any]]] = {}
    for name, value in spec.items():
        if name not in LOSSES and name not in CROSS_ENCODER_TERMS:
            raise UserError(
                f"unknown loss {name!r} (known: {', '.join([*LOSSES, *CROSS_ENCODER_TERMS])})"
            )
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
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise UserError(f"loss {name!r}: weight must be a number >= 0, got {weight!r}")
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
        if name in ONLY_FOR_CROSS_ENCODERS:
            raise UserError(
                f"loss {name!r} is for cross-encoder students: {ONLY_FOR_CROSS_ENCODERS[name]}"
            )
        try:
            parts[name] = (weight, LOSSES[name](model, **params))
        except (TypeError, ValueError) as exc:
            raise UserError(f"loss {name!r}: {exc}") from None
    if len(parts) == 1:
        ((weight, loss),) = parts.values()
        if weight == 1.0:
            return loss
    return WeightedSum(model, parts, return_components=return_components)

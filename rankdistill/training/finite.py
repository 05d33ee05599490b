"""No silent non-finite training. The first loss term or gradient that is NaN or infinite stops
training with the step and the term (or parameter) named; a model with a non-finite weight is
never saved. A learning rate too high, a teacher score that overflowed, or a loss temperature
near zero all end here instead of in a student that scores every document NaN.

`FiniteGuard` does both checks inside a sentence-transformers trainer (a forward hook on the loss,
a callback before each optimiser step); query-side training calls `check_loss` and
`check_gradients` itself; every save goes through `check_weights`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from transformers import TrainerCallback

from rankdistill.core.errors import UserError


class NonFiniteTraining(UserError):
    """Training produced a NaN or infinity; nothing was saved from the step that did."""


def _value(tensor: Any) -> float:
    return (
        float(tensor.detach().float().sum()) if isinstance(tensor, torch.Tensor) else float(tensor)
    )


def check_loss(loss: Any, step: int, parts: dict[str, Any] | None = None) -> None:
    """`loss` (a tensor, or the dict of weighted terms a combined loss returns) and its `parts`
    must be finite; otherwise stop at `step`, naming every non-finite term."""
    terms = dict(loss) if isinstance(loss, dict) else {"loss": loss}
    terms.update(parts or {})
    bad = {name: _value(value) for name, value in terms.items() if not math.isfinite(_value(value))}
    if bad:
        said = ", ".join(f"{name} = {value}" for name, value in bad.items())
        raise NonFiniteTraining(
            f"training stopped at step {step}: non-finite loss ({said}); lower the learning rate, check the "
            "teacher scores (`rankdistill inspect` on the training set) or the loss temperature and scale"
        )


def check_gradients(model: nn.Module, step: int) -> None:
    """Every gradient of `model` must be finite before the optimiser steps (names the first that is not)."""
    for name, parameter in model.named_parameters():
        if parameter.grad is not None and not torch.isfinite(parameter.grad).all():
            raise NonFiniteTraining(
                f"training stopped at step {step}: the gradient of {name} is not finite; lower the learning "
                "rate or check the training set's scores"
            )


def check_weights(model: nn.Module, where: str) -> None:
    """Refuse to save a model with a NaN or infinite weight (names the first)."""
    for name, parameter in model.named_parameters():
        if not torch.isfinite(parameter.detach()).all():
            raise NonFiniteTraining(f"{where}: not saved, weight {name} is not finite")


class FiniteGuard(TrainerCallback):
    """Both training checks for a Hugging Face / sentence-transformers trainer. Under fp16 the
    gradient scaler skips steps with infinite gradients by design, so gradients are not checked
    there (the loss still is)."""

    def __init__(self, loss: nn.Module):
        self.step = 0
        loss.register_forward_hook(self._loss_computed)

    def _loss_computed(self, module: nn.Module, inputs: Any, output: Any) -> None:
        check_loss(output, self.step)

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201 (the TrainerCallback signature)
        self.step = state.global_step + 1

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):  # noqa: ANN001, ANN201
        if model is not None and not args.fp16:
            check_gradients(model, self.step)

"""The list losses for a cross-encoder student: the same formulas, on the student's logits.

A bi-encoder student's score of (q, d) is a similarity of two embeddings; a cross-encoder's is the
logit of the pair read together. Every list loss here is a pure function of the two (B, n + 1)
score matrices (`ListLoss.score_loss`), so a cross-encoder student reuses them unchanged:

    s_S(q, d) = CE([q; d])            one logit per (query, candidate) pair
    L = sum_parts w * part.score_loss(scale * s_S(q, [d+, d_1..d_n]), s_T(q, [d+, d_1..d_n]))

e.g. Margin-MSE (Hofstaetter et al., arXiv:2010.02666), listwise KL, RankNet, ListNet on the rows
`rankdistill mine` writes; `hidden_mse` (rankdistill/losses/hidden_mse.py, TinyBERT's layer
losses) may ride beside them, matching the student's hidden states to a teacher model's. InfoNCE
is not among them: its negatives are the other rows' documents in the batch, which a
cross-encoder would have to score pair by pair. Inputs follow
sentence-transformers' CrossEncoderTrainer: raw text columns (query, positive, negative_1..n) and
a label of n + 1 teacher scores per row.

Args (of `build_cross_encoder_loss`): a loss spec as for `build_loss` (`scale` and `similarity`
keep their defaults: logits need no scaling, and there is no similarity); the CrossEncoder.

Example::

    from sentence_transformers.cross_encoder import CrossEncoder
    from rankdistill.losses.cross_encoder import build_cross_encoder_loss

    loss = build_cross_encoder_loss("margin_mse", CrossEncoder("path/to/bert", num_labels=1))
    # in a config:  train: {student: {kind: cross-encoder, model: all-MiniLM-L6-v2, layers: 3}, loss: margin_mse}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.losses.base import check_scores
from rankdistill.losses.hidden_mse import MODEL_INPUTS, HiddenStateMSE


class CrossEncoderListLoss(nn.Module):
    """The weighted list losses above on a CrossEncoder's logits (one forward for the whole batch),
    plus, when given, `hidden_mse` on the same forward's hidden states (returned as its own
    component, so the trainer logs the two terms apart)."""

    def __init__(
        self,
        model: nn.Module,
        parts: dict[str, tuple[float, nn.Module]],
        hidden: tuple[float, HiddenStateMSE] | None = None,
    ):
        super().__init__()
        self.model = model
        self.weights = {name: float(weight) for name, (weight, _) in parts.items()}
        self.parts = nn.ModuleDict({name: loss for name, (_, loss) in parts.items()})
        self.hidden_weight = float(hidden[0]) if hidden else 0.0
        self.hidden = hidden[1] if hidden else None

    def pair_features(self, inputs: list[list[str]]) -> dict[str, Tensor]:
        """The tokenised (query, candidate) pairs, column by column (positive first)."""
        from sentence_transformers.util import batch_to_device

        queries, columns = inputs[0], inputs[1:]
        pairs = [(query, doc) for column in columns for query, doc in zip(queries, column)]
        return batch_to_device(self.model.preprocess(pairs), self.model.device)

    def student_scores(self, inputs: list[list[str]]) -> Tensor:
        """(B, n + 1) logits: column 0 the queries, columns 1.. the candidates, positive first."""
        logits = self.model(self.pair_features(inputs))["scores"]
        return logits.reshape(len(inputs) - 1, len(inputs[0])).T.float()

    def forward(
        self, inputs: list[list[str]], labels: Tensor | list[Tensor], **_: Any
    ) -> Tensor | dict[str, Tensor]:
        if isinstance(labels, list):
            labels = torch.stack(labels)
        if labels is None or labels.ndim != 2 or labels.shape != (len(inputs[0]), len(inputs) - 1):
            shape = None if labels is None else tuple(labels.shape)
            raise UserError(
                f"cross-encoder student: teacher scores of shape {shape} do not match {len(inputs[0])} rows of "
                f"{len(inputs) - 1} candidates (positive + negatives): one teacher score per candidate, positive first"
            )
        if self.hidden is None:
            student, hidden_term = self.student_scores(inputs), None
        else:  # the body itself, for its hidden states; its logits are the CrossEncoder's scores
            features = self.pair_features(inputs)
            model_inputs = {key: features[key] for key in MODEL_INPUTS if key in features}
            out = self.model[0].model(**model_inputs, output_hidden_states=True)
            student = out.logits.reshape(len(inputs) - 1, len(inputs[0])).T.float()
            hidden_term = self.hidden_weight * self.hidden(out.hidden_states, model_inputs)
        teacher = labels.detach().float().to(student.device)
        check_scores(student, teacher)
        total = torch.zeros((), device=student.device)
        for name, part in self.parts.items():
            total = total + self.weights[name] * part.score_loss(part.scale * student, teacher)
        return total if hidden_term is None else {"scores": total, "hidden_mse": hidden_term}

    def get_config_dict(self) -> dict[str, Any]:
        config = {
            name: {"weight": self.weights[name], **loss.get_config_dict()}
            for name, loss in self.parts.items()
        }
        if self.hidden is not None:
            config["hidden_mse"] = {"weight": self.hidden_weight, **self.hidden.get_config_dict()}
        return config


def build_cross_encoder_loss(spec: Any, model: nn.Module) -> CrossEncoderListLoss:
    """The loss a spec describes, for a one-logit CrossEncoder student."""
    from rankdistill.losses import LOSSES, REGISTRY, parse_loss_spec

    parts, hidden = {}, None
    for name, (weight, params) in parse_loss_spec(spec).items():
        if name == "hidden_mse":
            try:
                hidden = (weight, HiddenStateMSE(model, **params))
            except TypeError as exc:
                raise UserError(
                    f"loss 'hidden_mse': {exc} (name the teacher: hidden_mse: {{teacher: FOLDER}})"
                ) from None
            continue
        if (why := REGISTRY[name].refuses("cross-encoder")) is not None:
            raise UserError(why)
        if "similarity" in params:
            raise UserError(
                f"loss {name!r}: a cross-encoder student scores pairs with its logit, it has no similarity to choose"
            )
        try:
            parts[name] = (weight, LOSSES[name](model, similarity="dot", **params))
        except (TypeError, ValueError) as exc:
            raise UserError(f"loss {name!r}: {exc}") from None
    if not parts:
        raise UserError(
            "hidden_mse rides beside a list loss on the teacher's scores: add one, e.g. {listwise_kl: 1.0, hidden_mse: {...}}"
        )
    return CrossEncoderListLoss(model, parts, hidden)

"""Hidden-state MSE: a cross-encoder student's token representations matched, layer by layer, to
its teacher's on the same (query, document) pairs.

    L = 1 / (L_S + 1) * sum_{m=0..L_S} MSE_mask( H_S^m W_m , H_T^{g(m)} )      g(m) = round(m * L_T / L_S)

H^0 is the embedding layer's output and H^m layer m's (the `hidden_states` a transformers model
returns), L_S and L_T the student's and the teacher's layer counts, so the student's last layer
meets the teacher's last and the others are spread uniformly; W_m a learned linear map from the
student's width onto the teacher's (none when the two are equal); MSE_mask the mean squared error
over the pair's non-padding tokens. These are the embedding-layer and transformer-layer losses of
the task-specific stage of "TinyBERT: Distilling BERT for Natural Language Understanding" (Xiaoqi
Jiao, Yichun Yin, Lifeng Shang, Xin Jiang, Xiao Chen, Linlin Li, Fang Wang, Qun Liu;
arXiv:1909.10351), without its attention-matrix term (a student may have fewer heads). It rides
beside a list loss on the logits (`rankdistill.losses.cross_encoder`), the prediction-layer term.

The teacher reads the student's own token ids, so the two must share a vocabulary (BERT uncased:
MiniLM-L6 and SPLADE-tiny do); it runs frozen, in eval mode, once per training batch. Its hidden
states are not cached: (pairs x tokens x width x layers) is gigabytes for a few thousand lists.

Inputs: the student's and the teacher's `hidden_states` tuples and the batch's attention mask.

Args:
    model: the student CrossEncoder.
    teacher: a CrossEncoder or BERT-style folder, catalogue alias or hub id (the teacher whose
        scores the list loss reads, normally).

Example::

    loss = build_cross_encoder_loss({"listwise_kl": 1.0, "hidden_mse": {"weight": 1.0, "teacher": "runs/teachers/ce"}}, student)
    # in a config:  loss: {listwise_kl: {teacher_temperature: 0.25}, hidden_mse: {weight: 1.0, teacher: runs/teachers/ce}}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rankdistill.core.errors import UserError
from rankdistill.encoders.models import resolve_model
from rankdistill.losses.registry import register_loss

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """g(m) for m = 0..student_layers: the teacher's hidden-state index each student one matches."""
    if student_layers < 1 or teacher_layers < student_layers:
        raise UserError(
            f"hidden_mse: a student of {student_layers} layers needs a teacher of at least as many, this one has {teacher_layers}"
        )
    return [round(m * teacher_layers / student_layers) for m in range(student_layers + 1)]


def hidden_mse(
    student: tuple[Tensor, ...],
    teacher: tuple[Tensor, ...],
    mask: Tensor,
    projections: nn.ModuleList,
    layers: list[int],
) -> Tensor:
    """The mean over the mapped layers of the masked token MSE (the formula above)."""
    weights = mask.unsqueeze(-1).float()
    tokens = weights.sum() * teacher[0].shape[-1]
    total = torch.zeros((), device=mask.device)
    for m, (project, t) in enumerate(zip(projections, layers)):
        diff = project(student[m].float()) - teacher[t].float()
        total = total + (diff.pow(2) * weights).sum() / tokens
    return total / len(layers)


@register_loss(
    "hidden_mse",
    kind="term",
    families=("cross-encoder",),
    note="it matches a cross-encoder's token hidden states to its teacher's",
)
class HiddenStateMSE(nn.Module):
    """The term above for one student and teacher (the module docstring has the formula, Args
    and an example); `forward(student_hidden_states, model_inputs)` runs the teacher itself."""

    def __init__(self, model: nn.Module, teacher: str):
        super().__init__()
        from sentence_transformers.cross_encoder import CrossEncoder

        if not isinstance(teacher, str) or not teacher.strip():
            raise UserError(
                "hidden_mse: name the teacher whose hidden states the student matches (teacher: FOLDER)"
            )
        self.teacher_name = teacher
        loaded = CrossEncoder(resolve_model(teacher), num_labels=1, device=str(model.device))
        if loaded.tokenizer.get_vocab() != model.tokenizer.get_vocab():
            raise UserError(
                f"hidden_mse: the teacher {teacher} tokenizes with another vocabulary than the student; "
                "the teacher reads the student's token ids, so the two must share one"
            )
        self.teacher = loaded[0].model.eval().requires_grad_(False)
        student_config, teacher_config = model[0].model.config, self.teacher.config
        self.layers = layer_map(student_config.num_hidden_layers, teacher_config.num_hidden_layers)
        width_s, width_t = student_config.hidden_size, teacher_config.hidden_size
        self.projections = nn.ModuleList(
            nn.Identity() if width_s == width_t else nn.Linear(width_s, width_t)
            for _ in self.layers
        )

    def train(self, mode: bool = True) -> HiddenStateMSE:
        super().train(mode)
        self.teacher.eval()  # the teacher's dropout stays off
        return self

    def teacher_states(self, inputs: dict[str, Tensor]) -> tuple[Tensor, ...]:
        with torch.no_grad():
            return self.teacher(**inputs, output_hidden_states=True).hidden_states

    def forward(self, student: tuple[Tensor, ...], inputs: dict[str, Tensor]) -> Tensor:
        return hidden_mse(
            student,
            self.teacher_states(inputs),
            inputs["attention_mask"],
            self.projections,
            self.layers,
        )

    def get_config_dict(self) -> dict[str, Any]:
        return {"teacher": self.teacher_name, "teacher_layers": self.layers}

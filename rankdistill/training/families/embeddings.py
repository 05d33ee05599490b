"""Embedding-aligned students: the student's vectors are trained towards an embedding teacher's
on alignment texts (`student.distill: embeddings`; `rankdistill.training.embeddings`)."""

from __future__ import annotations

from typing import Any

from rankdistill.training.config import StudentConfig, TrainConfig
from rankdistill.training.families.base import TrainingInputs, register_family


@register_family
class EmbeddingFamily:
    name = "embeddings"

    def selects(self, student: StudentConfig) -> bool:
        return student.distill == "embeddings"

    def train(self, config: TrainConfig, inputs: TrainingInputs) -> Any:
        from rankdistill.training.embedding_targets import train_embedding_student

        return train_embedding_student(
            config, inputs.encodings_root(config), inputs.precision, inputs.source
        )

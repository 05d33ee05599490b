"""Dense, sparse and cross-encoder students, trained by sentence-transformers' trainers over a
mined training set (`rankdistill.training.train`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rankdistill.training.config import StudentConfig, TrainConfig
from rankdistill.training.families.base import TrainingInputs, register_family


@dataclass(frozen=True)
class TrainerFamily:
    name: str

    def selects(self, student: StudentConfig) -> bool:
        return (
            student.kind == self.name
            and not student.frozen_documents
            and student.distill != "embeddings"
        )

    def train(self, config: TrainConfig, inputs: TrainingInputs) -> Any:
        from rankdistill.training.train import train

        return train(config, inputs.source)


for _kind in ("dense", "sparse", "cross-encoder"):
    register_family(TrainerFamily(_kind))

"""Distillation training: configs, training rows and dev split, students, and the run on
sentence-transformers' trainer with checkpoints and resume (`rankdistill train --config`)."""

from rankdistill.training.config import TrainConfig, load_train_config
from rankdistill.training.train import TrainResult, latest_checkpoint, train

__all__ = ["TrainConfig", "TrainResult", "latest_checkpoint", "load_train_config", "train"]

"""Distillation training: configs, training rows and dev split, students, and the run on
sentence-transformers' trainer with checkpoints and resume (`rankdistill train --config`).

Only the configs are imported here, so reading a config class (the CLI's flag ranges,
`rankdistill --help`) loads no torch; the run itself is `rankdistill.training.train.train`
(`rankdistill.train_student`)."""

from rankdistill.training.config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "load_train_config"]

"""The trainer: `train(config, progress, cancel) -> TrainResult`, used by `lss train` and the GUI."""

from training.trainer.config import DataConfig, ExportConfig, TrainConfig
from training.trainer.loop import TrainResult, evaluate, train

__all__ = ["DataConfig", "ExportConfig", "TrainConfig", "TrainResult", "evaluate", "train"]

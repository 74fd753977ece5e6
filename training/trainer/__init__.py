"""The trainer: `train(config, progress, cancel) -> TrainResult`, used by `lss train` and the GUI."""

from pathlib import Path

from training.trainer.config import DataConfig, ExportConfig, TrainConfig
from training.trainer.loop import TrainResult, evaluate, train

# The default config of `lss train --site DIR` (fine-tuning on site data from a model pack).
SITE_FINETUNE_RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "site-finetune.json"

__all__ = [
    "SITE_FINETUNE_RECIPE",
    "DataConfig",
    "ExportConfig",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "train",
]

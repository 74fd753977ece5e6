"""The vision-language models: architectures as JSON configs, built by `create_model`."""

from training.models.config import GRADE_NAMES, ModelConfig
from training.models.prompt_segmenter import PromptSegmentationModel, SegmentationOutput
from training.models.registry import create_model, list_model_configs, load_model_config

__all__ = [
    "GRADE_NAMES",
    "ModelConfig",
    "PromptSegmentationModel",
    "SegmentationOutput",
    "create_model",
    "list_model_configs",
    "load_model_config",
]

"""Training data: SPIDER sagittal slices, synthetic studies, splits by patient, augmentation."""

from training.data.augmentation import AugmentationConfig
from training.data.samples import STRUCTURE_CLASSES, UNKNOWN_GRADE, PromptSample, SliceSource
from training.data.spider import spider_samples
from training.data.splits import split_by_group
from training.data.synthetic import synthetic_samples

__all__ = [
    "STRUCTURE_CLASSES",
    "UNKNOWN_GRADE",
    "AugmentationConfig",
    "PromptSample",
    "SliceSource",
    "spider_samples",
    "split_by_group",
    "synthetic_samples",
]

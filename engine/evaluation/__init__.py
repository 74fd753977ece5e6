"""Evaluation metrics without torch, so the app can show them: grade classification (accuracy,
macro-F1, per-class precision/recall, one-vs-rest ROC AUC, confusion matrix), McNemar's test
between two models, Dice/IoU with bootstrap confidence intervals (resampling cases), dural sac
area error, training histories, and matplotlib plots of all of them.
"""

from engine.evaluation.bootstrap import ConfidenceInterval, bootstrap_mean_ci
from engine.evaluation.classification import (
    ClassificationMetrics,
    ClassMetrics,
    classification_metrics,
    confusion_matrix,
)
from engine.evaluation.mcnemar import McNemarResult, mcnemar_test
from engine.evaluation.overlap import dice_and_iou
from engine.evaluation.roc import RocCurve, one_vs_rest_roc, roc_auc
from engine.evaluation.segmentation import (
    AreaCase,
    SegmentationCase,
    summarise_area_errors,
    summarise_segmentation,
)

__all__ = [
    "AreaCase",
    "ClassMetrics",
    "ClassificationMetrics",
    "ConfidenceInterval",
    "McNemarResult",
    "RocCurve",
    "SegmentationCase",
    "bootstrap_mean_ci",
    "classification_metrics",
    "confusion_matrix",
    "dice_and_iou",
    "mcnemar_test",
    "one_vs_rest_roc",
    "roc_auc",
    "summarise_area_errors",
    "summarise_segmentation",
]

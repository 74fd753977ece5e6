"""Segmentation losses with a MONAI-like API: `loss(logits, target, class_index=None) -> scalar`.

One file per family: cross-entropy, soft Dice, static and focal Tversky, Adaptive PID-Tversky.
`create_loss(name, options)` builds one from a training config.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from training.losses.cross_entropy import CrossEntropyLoss
from training.losses.dice import DiceLoss
from training.losses.pid_tversky import AdaptivePIDTverskyLoss, ControllerStep, PIDGains
from training.losses.tversky import FocalTverskyLoss, TverskyLoss

LOSS_NAMES: tuple[str, ...] = ("cross_entropy", "dice", "tversky", "focal_tversky", "pid_tversky")


def create_loss(name: str, num_classes: int, options: dict[str, Any] | None = None) -> nn.Module:
    """Build the named segmentation loss for `num_classes` prompt classes (sigmoid, class_index layout).

    options: constructor keyword arguments; for 'pid_tversky', 'weight_gains' may be a mapping with
    the fields of PIDGains.
    """
    kwargs = dict(options or {})
    if name == "cross_entropy":
        return CrossEntropyLoss(**kwargs)
    if name == "dice":
        return DiceLoss(num_classes=num_classes, **kwargs)
    if name == "tversky":
        return TverskyLoss(num_classes=num_classes, **kwargs)
    if name == "focal_tversky":
        return FocalTverskyLoss(num_classes=num_classes, **kwargs)
    if name == "pid_tversky":
        gains = kwargs.pop("weight_gains", None)
        if isinstance(gains, dict):
            gains = PIDGains(**{**gains, "output_range": tuple(gains["output_range"])})
        if "beta_range" in kwargs:
            kwargs["beta_range"] = tuple(kwargs["beta_range"])
        return AdaptivePIDTverskyLoss(num_classes=num_classes, weight_gains=gains, **kwargs)
    raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSS_NAMES)}")


__all__ = [
    "LOSS_NAMES",
    "AdaptivePIDTverskyLoss",
    "ControllerStep",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalTverskyLoss",
    "PIDGains",
    "TverskyLoss",
    "create_loss",
]

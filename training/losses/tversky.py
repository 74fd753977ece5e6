"""Static Tversky loss (Salehi et al. 2017) and focal Tversky loss (Abraham & Khan 2019)."""

from __future__ import annotations

import torch
from torch import nn

from training.losses.confusion import (
    Activation,
    activate,
    confusion_counts,
    one_hot_target,
    tversky_index,
    validate_activation,
    weighted_class_mean,
)

# Keeps the gradient of (1 - TI)^(1/gamma) finite at a perfect prediction when gamma > 1.
_FOCAL_FLOOR = 1e-7


class FocalTverskyLoss(nn.Module):
    """L = mean_c (1 - TI_c)^(1/gamma), TI_c = (TP + s) / (TP + alpha FP + beta FN + s).

    Counts are over all pixels of the batch, per class (see training.losses.confusion for layouts).
    alpha weighs false positives, beta false negatives; gamma = 1 gives the plain Tversky loss.
    input: logits (B, C, *spatial); target as DiceLoss; class_index (B,) with num_classes.
    """

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        gamma: float = 1.0,
        activation: Activation = "sigmoid",
        include_background: bool = True,
        smooth: float = 1.0,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        validate_activation(activation, include_background)
        if alpha < 0 or beta < 0 or alpha + beta <= 0:
            raise ValueError(f"alpha and beta must be >= 0 with a positive sum, got {alpha}, {beta}")
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        if smooth < 0:
            raise ValueError(f"smooth must be >= 0, got {smooth}")
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.activation: Activation = activation
        self.include_background = include_background
        self.smooth = smooth
        self.num_classes = num_classes

    def forward(
        self, input: torch.Tensor, target: torch.Tensor, class_index: torch.Tensor | None = None
    ) -> torch.Tensor:
        counts = confusion_counts(
            activate(input, self.activation),
            one_hot_target(target, input.shape[1], self.activation),
            class_index,
            self.num_classes,
            self.include_background,
        )
        per_class = 1 - tversky_index(counts, self.alpha, self.beta, self.smooth)
        if self.gamma != 1.0:
            per_class = per_class.clamp_min(_FOCAL_FLOOR) ** (1.0 / self.gamma)
        return weighted_class_mean(per_class, counts.present)


class TverskyLoss(FocalTverskyLoss):
    """Static Tversky loss: L = mean_c (1 - TI_c), fixed alpha (FP weight) and beta (FN weight)."""

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        activation: Activation = "sigmoid",
        include_background: bool = True,
        smooth: float = 1.0,
        num_classes: int | None = None,
    ) -> None:
        super().__init__(alpha, beta, 1.0, activation, include_background, smooth, num_classes)

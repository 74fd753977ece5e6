"""Soft Dice loss (Milletari et al. 2016) over all pixels of the batch, per class, then averaged."""

from __future__ import annotations

import torch
from torch import nn

from training.losses.confusion import (
    Activation,
    activate,
    confusion_counts,
    one_hot_target,
    validate_activation,
    weighted_class_mean,
)


class DiceLoss(nn.Module):
    """L = mean_c (1 - (2 TP_c + s) / (2 TP_c + FP_c + FN_c + s)) over classes present in the batch.

    input: logits (B, C, *spatial) (probabilities with activation='none');
    target: (B, C, *spatial) binary/one-hot, or (B, 1, *spatial) labels with softmax;
    class_index: (B,) class of each sample for single-channel prompted masks (needs num_classes).
    With smooth = 2 s this equals the Tversky loss with alpha = beta = 0.5 and smoothing s.
    """

    def __init__(
        self,
        activation: Activation = "sigmoid",
        include_background: bool = True,
        smooth: float = 1.0,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        validate_activation(activation, include_background)
        if smooth < 0:
            raise ValueError(f"smooth must be >= 0, got {smooth}")
        self.activation: Activation = activation
        self.include_background = include_background
        self.smooth = smooth
        self.num_classes = num_classes

    def forward(
        self, input: torch.Tensor, target: torch.Tensor, class_index: torch.Tensor | None = None
    ) -> torch.Tensor:
        probabilities = activate(input, self.activation)
        counts = confusion_counts(
            probabilities,
            one_hot_target(target, input.shape[1], self.activation),
            class_index,
            self.num_classes,
            self.include_background,
        )
        dice = (2 * counts.tp + self.smooth) / (2 * counts.tp + counts.fp + counts.fn + self.smooth)
        return weighted_class_mean(1 - dice, counts.present)

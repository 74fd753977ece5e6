"""Cross-entropy baseline with the same call signature as the overlap losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.losses.confusion import Activation, validate_activation


class CrossEntropyLoss(nn.Module):
    """Pixel-wise cross-entropy, mean over all pixels of the batch.

    activation 'sigmoid': input logits (B, C, *spatial), target binary (B, C, *spatial) -> BCE;
    activation 'softmax': input logits (B, C, *spatial), target labels (B, 1, *spatial) or one-hot.
    `class_index` is accepted for a uniform call signature and ignored (pixels are independent).
    """

    def __init__(self, activation: Activation = "sigmoid", positive_weight: float = 1.0) -> None:
        super().__init__()
        validate_activation(activation, include_background=True)
        if activation == "none":
            raise ValueError("cross-entropy needs logits: activation must be 'sigmoid' or 'softmax'")
        if positive_weight <= 0:
            raise ValueError(f"positive_weight must be > 0, got {positive_weight}")
        self.activation = activation
        self.positive_weight = positive_weight

    def forward(
        self, input: torch.Tensor, target: torch.Tensor, class_index: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.activation == "sigmoid":
            weight = torch.tensor(self.positive_weight, device=input.device, dtype=input.dtype)
            return F.binary_cross_entropy_with_logits(
                input.float(), target.float(), pos_weight=weight.float()
            )
        labels = target[:, 0].long() if target.shape[1] == 1 else target.argmax(1)
        return F.cross_entropy(input.float(), labels)

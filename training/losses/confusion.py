"""Per-class soft confusion counts (TP, FP, FN) over all pixels of a batch, shared by the overlap losses.

Two layouts are supported:
- multi-channel: probabilities and targets (B, C, *spatial); class c is channel c;
- prompted binary: probabilities and targets (B, 1, *spatial) plus `class_index` (B,), the class
  (the structure the sample's prompt names) whose counts each sample adds to, out of `num_classes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

Activation = Literal["sigmoid", "softmax", "none"]


@dataclass(frozen=True)
class ConfusionCounts:
    """Soft counts per class, each (K,), and which classes had samples in the batch (K,) bool."""

    tp: torch.Tensor
    fp: torch.Tensor
    fn: torch.Tensor
    present: torch.Tensor


def activate(logits: torch.Tensor, activation: Activation) -> torch.Tensor:
    """Logits (B, C, *spatial) -> probabilities of the same shape."""
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    if activation == "softmax":
        return torch.softmax(logits, dim=1)
    return logits


def one_hot_target(target: torch.Tensor, channels: int, activation: Activation) -> torch.Tensor:
    """Integer labels (B, 1, *spatial) -> one-hot (B, C, *spatial) for softmax; binary targets as float."""
    if activation == "softmax" and target.shape[1] == 1 and channels > 1:
        labels = target[:, 0].long()
        return F.one_hot(labels, channels).movedim(-1, 1).to(torch.float32)
    return target.to(torch.float32)


def validate_activation(activation: str, include_background: bool) -> None:
    if activation not in ("sigmoid", "softmax", "none"):
        raise ValueError(f"activation must be 'sigmoid', 'softmax' or 'none', got {activation!r}")
    if not include_background and activation != "softmax":
        raise ValueError("include_background=False needs activation='softmax' (channel 0 is background)")


def confusion_counts(
    probabilities: torch.Tensor,
    target: torch.Tensor,
    class_index: torch.Tensor | None = None,
    num_classes: int | None = None,
    include_background: bool = True,
) -> ConfusionCounts:
    """Soft TP = sum p*g, FP = sum p*(1-g), FN = sum (1-p)*g per class over all batch pixels.

    probabilities, target: (B, C, *spatial), same shape, float.
    class_index: (B,) int64, only with C == 1; requires num_classes.
    include_background: False drops channel 0 (multi-channel layout only).
    """
    if probabilities.shape != target.shape:
        raise ValueError(
            f"prediction shape {tuple(probabilities.shape)} != target shape {tuple(target.shape)}"
        )
    if probabilities.dim() < 3:
        raise ValueError(f"expected (B, C, *spatial), got shape {tuple(probabilities.shape)}")
    p = probabilities.float().flatten(2)
    g = target.float().flatten(2)
    tp_bc = (p * g).sum(-1)
    fp_bc = p.sum(-1) - tp_bc
    fn_bc = g.sum(-1) - tp_bc
    if class_index is not None:
        if probabilities.shape[1] != 1:
            raise ValueError("class_index needs single-channel (B, 1, ...) predictions")
        if num_classes is None:
            raise ValueError("class_index needs num_classes")
        if class_index.shape != (probabilities.shape[0],):
            raise ValueError(f"class_index must have shape (B,), got {tuple(class_index.shape)}")
        index = class_index.long().to(p.device)
        zeros = torch.zeros(num_classes, dtype=p.dtype, device=p.device)
        present = torch.zeros(num_classes, dtype=torch.bool, device=p.device)
        present[index] = True
        return ConfusionCounts(
            tp=zeros.index_add(0, index, tp_bc[:, 0]),
            fp=zeros.index_add(0, index, fp_bc[:, 0]),
            fn=zeros.index_add(0, index, fn_bc[:, 0]),
            present=present,
        )
    start = 0 if include_background else 1
    tp, fp, fn = (x.sum(0)[start:] for x in (tp_bc, fp_bc, fn_bc))
    return ConfusionCounts(tp=tp, fp=fp, fn=fn, present=torch.ones_like(tp, dtype=torch.bool))


def tversky_index(
    counts: ConfusionCounts, alpha: torch.Tensor | float, beta: torch.Tensor | float, smooth: float
) -> torch.Tensor:
    """TI_c = (TP + s) / (TP + alpha*FP + beta*FN + s), shape (K,)."""
    return (counts.tp + smooth) / (counts.tp + alpha * counts.fp + beta * counts.fn + smooth)


def weighted_class_mean(
    per_class: torch.Tensor, present: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Sum of w_c * value_c over present classes with w normalised to 1 (uniform when weights is None)."""
    w = (
        present.to(per_class.dtype)
        if weights is None
        else weights.to(per_class.dtype) * present.to(per_class.dtype)
    )
    return (w * per_class).sum() / w.sum().clamp_min(torch.finfo(per_class.dtype).tiny)

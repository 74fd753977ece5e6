"""Overlap of a predicted and a reference binary mask: Dice and IoU (Jaccard)."""

from __future__ import annotations

import numpy as np


def dice_and_iou(predicted: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(Dice, IoU) of two binary masks of the same shape (any number of dimensions).

    Both empty counts as perfect agreement (1.0, 1.0): the structure is rightly absent.
    """
    a = np.asarray(predicted).astype(bool)
    b = np.asarray(reference).astype(bool)
    if a.shape != b.shape:
        raise ValueError(f"predicted mask shape {a.shape} != reference mask shape {b.shape}")
    intersection = int(np.count_nonzero(a & b))
    total = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    if total == 0:
        return 1.0, 1.0
    union = total - intersection
    return 2.0 * intersection / total, intersection / union

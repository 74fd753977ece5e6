"""Segmentation results per case (Dice, IoU) and dural sac area errors, summarised per structure and
per grade with bootstrap intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.evaluation.bootstrap import DEFAULT_RESAMPLES, bootstrap_mean_ci


@dataclass(frozen=True)
class SegmentationCase:
    """One scored mask.

    case_id: unique name of the case (e.g. study/slice/prompt); cluster_id: the unit the bootstrap
    resamples (the study: slices of one study are not independent); structure: e.g. "dural sac";
    grade: the Schizas grade of the level (None when the case carries none); dice, iou: 0..1.
    """

    case_id: str
    cluster_id: str
    structure: str
    grade: str | None
    dice: float
    iou: float


@dataclass(frozen=True)
class AreaCase:
    """A dural sac cross-sectional area measured by a model and its reference (mm^2), at one level."""

    case_id: str
    cluster_id: str
    grade: str | None
    predicted_mm2: float
    reference_mm2: float


def _overlap_summary(cases: Sequence[SegmentationCase], resamples: int, seed: int) -> dict[str, Any]:
    clusters = [c.cluster_id for c in cases]
    return {
        "cases": len(cases),
        "clusters": len(set(clusters)),
        "dice": bootstrap_mean_ci([c.dice for c in cases], clusters, resamples, seed=seed).as_dict(),
        "iou": bootstrap_mean_ci([c.iou for c in cases], clusters, resamples, seed=seed).as_dict(),
    }


def _area_block(cases: Sequence[AreaCase], resamples: int, seed: int) -> dict[str, Any]:
    predicted = np.array([c.predicted_mm2 for c in cases], dtype=np.float64)
    reference = np.array([c.reference_mm2 for c in cases], dtype=np.float64)
    error = predicted - reference
    clusters = [c.cluster_id for c in cases]
    relative = np.abs(error) / np.maximum(reference, 1e-9)
    return {
        "cases": len(cases),
        "mean_error_mm2": bootstrap_mean_ci(error, clusters, resamples, seed=seed).as_dict(),
        "mean_absolute_error_mm2": bootstrap_mean_ci(np.abs(error), clusters, resamples, seed=seed).as_dict(),
        "mean_absolute_relative_error": bootstrap_mean_ci(relative, clusters, resamples, seed=seed).as_dict(),
    }


def summarise_area_errors(
    cases: Sequence[AreaCase], resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> dict[str, Any] | None:
    """Dural sac area error (signed = bias, absolute, relative; means with 95 % bootstrap CIs over
    clusters), overall and per grade; None without cases."""
    if not cases:
        return None
    grades = sorted({c.grade for c in cases if c.grade is not None})
    return {
        "all": _area_block(cases, resamples, seed),
        "grades": {g: _area_block([c for c in cases if c.grade == g], resamples, seed) for g in grades},
    }


def summarise_segmentation(
    cases: Sequence[SegmentationCase], resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Dice and IoU (mean with 95 % bootstrap CI, resampling clusters) per structure and per
    structure and grade.

    Returns {"structures": {name: {"all": ..., "grades": {grade: ...}}}}.
    """
    if not cases:
        raise ValueError("no segmentation case to summarise")
    out: dict[str, Any] = {"structures": {}}
    for structure in sorted({c.structure for c in cases}):
        mine = [c for c in cases if c.structure == structure]
        grades = sorted({c.grade for c in mine if c.grade is not None})
        out["structures"][structure] = {
            "all": _overlap_summary(mine, resamples, seed),
            "grades": {
                g: _overlap_summary([c for c in mine if c.grade == g], resamples, seed) for g in grades
            },
        }
    return out

"""Quantitative canal measurements: dural sac cross-sectional area, AP diameter, clinical thresholds."""

from engine.measurements.area_thresholds import (
    AreaStenosis,
    AreaThresholds,
    classify_dural_sac_area,
    grade_agrees_with_area,
)
from engine.measurements.dural_sac import DuralSacMeasurement, measure_dural_sac

__all__ = [
    "AreaStenosis",
    "AreaThresholds",
    "DuralSacMeasurement",
    "classify_dural_sac_area",
    "grade_agrees_with_area",
    "measure_dural_sac",
]

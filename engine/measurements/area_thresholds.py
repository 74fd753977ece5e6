"""Clinical thresholds on the dural sac cross-sectional area (DSCA) and their agreement with a
Schizas grade.

Thresholds (see the clinical reference): DSCA < 100 mm^2 is relative stenosis, < 75 mm^2 absolute
stenosis. The Schizas grade is morphological (CSF/rootlet ratio), so area and grade correlate but
do not map one to one; the compatible grades per area class are a deliberately tolerant table:
only a clear contradiction (e.g. grade A with absolute stenosis by area, or grade C/D with a
normal area) counts as disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.findings import SchizasGrade


class AreaStenosis(StrEnum):
    NONE = "none"  # DSCA >= relative threshold
    RELATIVE = "relative"  # absolute <= DSCA < relative
    ABSOLUTE = "absolute"  # DSCA < absolute threshold


@dataclass(frozen=True)
class AreaThresholds:
    """DSCA thresholds in mm^2 (defaults from the clinical literature: 100 and 75)."""

    relative_mm2: float = 100.0
    absolute_mm2: float = 75.0

    def __post_init__(self) -> None:
        if not 0 < self.absolute_mm2 < self.relative_mm2:
            raise ValueError("need 0 < absolute_mm2 < relative_mm2")


DEFAULT_AREA_THRESHOLDS = AreaThresholds()

_COMPATIBLE_GRADES: dict[AreaStenosis, frozenset[SchizasGrade]] = {
    AreaStenosis.NONE: frozenset({SchizasGrade.A, SchizasGrade.B}),
    AreaStenosis.RELATIVE: frozenset({SchizasGrade.A, SchizasGrade.B, SchizasGrade.C}),
    AreaStenosis.ABSOLUTE: frozenset({SchizasGrade.B, SchizasGrade.C, SchizasGrade.D}),
}


def classify_dural_sac_area(
    dural_sac_area_mm2: float, thresholds: AreaThresholds = DEFAULT_AREA_THRESHOLDS
) -> AreaStenosis:
    """Area class of a DSCA value in mm^2."""
    if dural_sac_area_mm2 < thresholds.absolute_mm2:
        return AreaStenosis.ABSOLUTE
    if dural_sac_area_mm2 < thresholds.relative_mm2:
        return AreaStenosis.RELATIVE
    return AreaStenosis.NONE


def grade_agrees_with_area(
    grade: SchizasGrade, dural_sac_area_mm2: float, thresholds: AreaThresholds = DEFAULT_AREA_THRESHOLDS
) -> bool:
    """False when the Schizas grade clearly contradicts the DSCA class (see the module docstring)."""
    return grade in _COMPATIBLE_GRADES[classify_dural_sac_area(dural_sac_area_mm2, thresholds)]

"""Central canal severity as free-text reports state it, and how it maps to Schizas grades and to
the dural sac area a pseudo-mask may have.

Mapping rule (documented in training/site_data/FORMAT.md and report_parser_validation.md):
    none ("no significant compression", "adequate canal", "abutting the sac")  -> A
    mild ("mildly compressing", "slight indentation")                          -> A
    moderate ("moderately compressing", "moderate canal stenosis")             -> B
    severe ("severely / largely / markedly compressing", "severe stenosis")    -> C, or D when the
        same statement says "extreme", "complete effacement" or that no posterior epidural fat is seen
    unqualified ("compressing the thecal sac", no degree given)                 -> no grade: the degree
        is unknown, so it is never turned into a label; a pseudo-mask only has to show a sac
        smaller than a normal one.
An explicit "Schizas <letter>" in the statement overrides the words.

RSNA interoperability (clinical.md): A = normal/mild, B = moderate, C/D = severe, consistent with
the table above.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.findings import SchizasGrade


class Severity(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    UNQUALIFIED = "unqualified"  # compression stated, degree not stated

    @property
    def rank(self) -> int:
        """Order for combining statements: qualified degrees by severity; unqualified below them all
        (a statement that gives the degree is more informative than one that does not)."""
        return {"unqualified": -1, "none": 0, "mild": 1, "moderate": 2, "severe": 3}[self.value]


def grade_for_severity(severity: Severity, extreme: bool = False) -> SchizasGrade | None:
    """Schizas grade of a stated severity (module docstring); None for unqualified compression."""
    if severity in (Severity.NONE, Severity.MILD):
        return SchizasGrade.A
    if severity is Severity.MODERATE:
        return SchizasGrade.B
    if severity is Severity.SEVERE:
        return SchizasGrade.D if extreme else SchizasGrade.C
    return None


@dataclass(frozen=True)
class AreaRange:
    """Dural sac cross-sectional area (mm^2) a mask may have, [low, high]."""

    low_mm2: float
    high_mm2: float

    def contains(self, area_mm2: float) -> bool:
        return self.low_mm2 <= area_mm2 <= self.high_mm2


# Expected DSCA per stated severity. Thresholds from clinical.md (< 100 mm^2 relative, < 75 mm^2
# absolute stenosis) widened by a tolerance, because the words and the area correlate loosely:
# mild/none keep at least 70 mm^2, moderate lies between 45 and 140, severe below 100; 300 mm^2 is
# above any lumbar dural sac, 10 mm^2 below any sac that is still visible.
EXPECTED_DURAL_SAC_AREA_MM2: dict[Severity, AreaRange] = {
    Severity.NONE: AreaRange(85.0, 300.0),
    Severity.MILD: AreaRange(70.0, 300.0),
    Severity.MODERATE: AreaRange(45.0, 140.0),
    Severity.SEVERE: AreaRange(10.0, 100.0),
    Severity.UNQUALIFIED: AreaRange(10.0, 200.0),
}
# A stated area is trusted to within this fraction (measurement and slice choice differ).
STATED_AREA_TOLERANCE = 0.35


def expected_dural_sac_area(severity: Severity, stated_area_mm2: float | None = None) -> AreaRange:
    """The area range a pseudo-mask must fall in: around a stated DSCA when the report gives one,
    else the severity's range."""
    if stated_area_mm2 is not None:
        return AreaRange(
            stated_area_mm2 * (1.0 - STATED_AREA_TOLERANCE), stated_area_mm2 * (1.0 + STATED_AREA_TOLERANCE)
        )
    return EXPECTED_DURAL_SAC_AREA_MM2[severity]

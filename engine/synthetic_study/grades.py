"""Schizas grades per level for synthetic studies: practice-like class imbalance and DSCA targets.

Per-level grade probabilities are chosen so that, over all five levels, about 55 % of levels are
A, 25 % B, 13 % C and 7 % D, with stenosis concentrated at L4-L5 and L3-L4 as in practice. Levels
are drawn independently, so the marginal frequencies are exact by construction.

Each grade draws a target dural sac cross-sectional area (DSCA, mm^2, in the plane of the disc,
perpendicular to the canal), consistent with `clinical.md`: A is above the 100 mm^2 relative and
the 120 mm^2 "some tools flag < 130" zone, B is a relative stenosis (75-100 mm^2), C and D are
absolute stenoses (< 75 mm^2), D the most extreme (< 50 mm^2). The ranges do not overlap, so the
grades of one study are always ordered by DSCA.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.findings import DISC_LEVELS, SchizasGrade

GRADE_ORDER: tuple[SchizasGrade, ...] = (SchizasGrade.A, SchizasGrade.B, SchizasGrade.C, SchizasGrade.D)

# P(grade | level), rows in DISC_LEVELS order, columns A, B, C, D.
LEVEL_GRADE_PROBABILITIES: dict[str, tuple[float, float, float, float]] = {
    "L1-L2": (0.80, 0.13, 0.05, 0.02),
    "L2-L3": (0.66, 0.21, 0.09, 0.04),
    "L3-L4": (0.45, 0.30, 0.16, 0.09),
    "L4-L5": (0.30, 0.33, 0.23, 0.14),
    "L5-S1": (0.54, 0.28, 0.12, 0.06),
}

# Target DSCA range (mm^2) per grade, half-open [low, high).
DSCA_RANGE_MM2: dict[SchizasGrade, tuple[float, float]] = {
    SchizasGrade.A: (120.0, 210.0),
    SchizasGrade.B: (76.0, 100.0),
    SchizasGrade.C: (50.0, 75.0),
    SchizasGrade.D: (28.0, 49.0),
}


def expected_grade_frequencies() -> dict[SchizasGrade, float]:
    """Marginal probability of each grade over the five levels."""
    probs = np.mean([LEVEL_GRADE_PROBABILITIES[level] for level in DISC_LEVELS], axis=0)
    return {grade: float(p) for grade, p in zip(GRADE_ORDER, probs, strict=True)}


def draw_level_grades(rng: np.random.Generator) -> tuple[SchizasGrade, ...]:
    """One grade per level (DISC_LEVELS order) with the practice-like imbalance."""
    grades = []
    for level in DISC_LEVELS:
        index = int(rng.choice(4, p=np.asarray(LEVEL_GRADE_PROBABILITIES[level])))
        grades.append(GRADE_ORDER[index])
    return tuple(grades)


def parse_grades(text: str | Sequence[str]) -> tuple[SchizasGrade, ...]:
    """Five grades from "A,B,C,D,A" (or a sequence of letters), L1-L2 first.

    Raises ValueError naming the bad entry when the text is not five letters A-D.
    """
    items = [t.strip().upper() for t in (text.split(",") if isinstance(text, str) else text)]
    if len(items) != len(DISC_LEVELS):
        raise ValueError(
            f"grades: expected {len(DISC_LEVELS)} comma-separated grades for "
            f"{', '.join(DISC_LEVELS)}, got {len(items)}"
        )
    out = []
    for level, item in zip(DISC_LEVELS, items, strict=True):
        if item not in {"A", "B", "C", "D"}:
            raise ValueError(f"grades: {level} must be one of A, B, C, D, got {item!r}")
        out.append(SchizasGrade(item))
    return tuple(out)

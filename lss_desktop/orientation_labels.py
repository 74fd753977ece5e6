"""Patient-orientation letters (A/P/S/I/L/R) for the edges of an image, from its direction
cosines. Qt-free."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.study.model import SliceGeometry

# LPS axes: +x is patient Left, +y Posterior, +z Superior.
_POSITIVE = ("L", "P", "S")
_NEGATIVE = ("R", "A", "I")
# A secondary letter is shown when the direction leans more than ~15 degrees towards that axis.
SECONDARY_COMPONENT = 0.25


@dataclass(frozen=True)
class EdgeLabels:
    left: str
    right: str
    top: str
    bottom: str


def direction_letters(direction: tuple[float, float, float] | np.ndarray) -> str:
    """Letters of the patient directions a screen direction points to, strongest first.

    (0, 0, -1) -> "I"; an oblique (0.2, -0.9, 0.4) -> "AS" (the 0.2 towards L is below the
    secondary threshold).
    """
    vector = np.asarray(direction, dtype=np.float64)
    order = np.argsort(-np.abs(vector))
    letters = []
    for rank, axis in enumerate(order):
        component = vector[axis]
        if rank > 0 and abs(component) < SECONDARY_COMPONENT:
            break
        letters.append(_POSITIVE[axis] if component > 0 else _NEGATIVE[axis])
    return "".join(letters)


def edge_labels(geometry: SliceGeometry) -> EdgeLabels:
    """Letters for each edge of an image shown with row 0 at the top and column 0 at the left."""
    row = np.asarray(geometry.row_direction, dtype=np.float64)
    column = np.asarray(geometry.column_direction, dtype=np.float64)
    return EdgeLabels(
        left=direction_letters(-row),
        right=direction_letters(row),
        top=direction_letters(-column),
        bottom=direction_letters(column),
    )

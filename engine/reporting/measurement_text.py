"""How measurements are written in reports: one rule for drafts, the fact check and the PDF.

Dural sac cross-sectional area to the nearest mm², AP canal diameter to 0.1 mm, rounding half up
(so 82.5 mm² reads 83 mm², not Python's banker's 82).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

AREA_UNIT = "mm²"
LENGTH_UNIT = "mm"


def _round_half_up(value: float, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def format_dural_sac_area(area_mm2: float) -> str:
    """Number only, e.g. 82.46 -> "82"."""
    return _round_half_up(area_mm2, 0)


def format_ap_diameter(diameter_mm: float) -> str:
    """Number only, e.g. 9.149 -> "9.1"."""
    return _round_half_up(diameter_mm, 1)


def format_confidence(confidence: float) -> str:
    """As a whole percentage, e.g. 0.874 -> "87 %"."""
    return f"{_round_half_up(confidence * 100.0, 0)} %"

"""How a series is named in the browser, the view headers and the combos. Qt-free."""

from __future__ import annotations

from engine.study.model import Orientation, Series


def series_title(series: Series) -> str:
    """'#3 Sag T2 TSE' (series number and description)."""
    number = f"#{series.series_number} " if series.series_number is not None else ""
    return f"{number}{series.description or '(no description)'}"


def series_details(series: Series) -> str:
    """'sagittal · T2 · 15 images' (plus 'angled' for stacks angled per disc)."""
    orientation = series.orientation.value
    if series.is_angled_stack and series.orientation in (Orientation.AXIAL, Orientation.OBLIQUE):
        orientation += " (angled)"
    count = len(series)
    return f"{orientation} · {series.sequence.value} · {count} image{'s' if count != 1 else ''}"

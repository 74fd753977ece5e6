"""The lumbar hanging protocol: which series each view shows when a study opens. Qt-free."""

from __future__ import annotations

from enum import StrEnum

from engine.study.model import Orientation, Sequence, Series, Study


class ViewSlot(StrEnum):
    """The viewer's panes, left to right. The protocol fills them; the user may show any series."""

    LEFT = "left"
    MIDDLE = "middle"
    RIGHT = "right"


def _first(*candidates: list[Series]) -> Series | None:
    for found in candidates:
        if found:
            return found[0]
    return None


def hang_lumbar_study(study: Study) -> dict[ViewSlot, Series | None]:
    """Sagittal T2 on the left, axial T2 in the middle, sagittal T1 on the right when present.

    Falls back to any sagittal / any axial series of another sequence, so a study without T2 still
    opens; the right pane stays empty (None) without a distinct sagittal T1.
    """
    sagittal = _first(
        study.find_series(Orientation.SAGITTAL, Sequence.T2),
        study.find_series(Orientation.SAGITTAL, Sequence.STIR),
        study.find_series(Orientation.SAGITTAL),
    )
    axial = _first(
        study.find_series(Orientation.AXIAL, Sequence.T2),
        study.find_series(Orientation.AXIAL),
        study.find_series(Orientation.OBLIQUE),
    )
    if sagittal is None and axial is None and study.series:
        sagittal = study.series[0]
    sagittal_t1 = next(
        (s for s in study.find_series(Orientation.SAGITTAL, Sequence.T1) if s is not sagittal), None
    )
    return {ViewSlot.LEFT: sagittal, ViewSlot.MIDDLE: axial, ViewSlot.RIGHT: sagittal_t1}

"""A person's correction of the level count by dragging a disc level label onto another disc.

Dropping the label "L4-L5" on a disc says "this disc is L4-L5"; the discs above and below it are
then counted from it, one vertebra per disc, with no disc missed in between (the usual correction
for transitional anatomy, where the count from the sacrum was off by one). The result is a relabelling {old label: new label} for
`override_level_labels` / `engine.analysis.relabel_study`. Dropping a label back on its own disc
changes nothing; dropping it where no disc was found is refused with a message.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from engine.findings import DiscLevel
from engine.levels.override import LevelLabelError

# Vertebrae from the skull down; a disc sits between two neighbours ("T12-L1", "L5-S1", "S1-S2").
_VERTEBRAE: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    *(f"S{i}" for i in range(1, 6)),
)
DISC_LABEL_SEQUENCE: tuple[str, ...] = tuple(
    f"{upper}-{lower}" for upper, lower in itertools.pairwise(_VERTEBRAE)
)
# A drop names a disc within this fraction of the spacing between neighbouring discs: a drop
# about halfway between two discs is ambiguous and is refused.
DROP_DISTANCE_FRACTION = 0.35
# Without neighbouring discs to measure the spacing from, a drop counts within this distance (mm).
FALLBACK_DROP_DISTANCE_MM = 12.0


def _in_plane_distance_mm(a: np.ndarray, b: np.ndarray, plane_normal: np.ndarray | None) -> float:
    d = a - b
    if plane_normal is not None:
        d = d - np.dot(d, plane_normal) * plane_normal
    return float(np.linalg.norm(d))


def drop_distance_mm(discs: Sequence[DiscLevel]) -> float:
    """How near (mm) a dropped label must land to a disc centre to name it: DROP_DISTANCE_FRACTION
    of the median spacing between neighbouring discs, FALLBACK_DROP_DISTANCE_MM with fewer than two
    discs."""
    if len(discs) < 2:
        return FALLBACK_DROP_DISTANCE_MM
    ordered = sorted(discs, key=lambda d: -d.centre_lps[2])
    gaps = [
        float(np.linalg.norm(np.subtract(a.centre_lps, b.centre_lps))) for a, b in itertools.pairwise(ordered)
    ]
    return DROP_DISTANCE_FRACTION * float(np.median(gaps))


def relabelling_for_dropped_label(
    discs: Sequence[DiscLevel],
    label: str,
    drop_lps: Sequence[float] | np.ndarray,
    *,
    plane_normal_lps: Sequence[float] | np.ndarray | None = None,
    max_distance_mm: float | None = None,
) -> dict[str, str]:
    """The relabelling {old: new} that a drop of `label` at `drop_lps` (LPS, mm) asks for.

    discs: every labelled disc of the study (StudyFindings.levels + other_discs), any order.
    plane_normal_lps: the normal of the slice the label was dropped on; distances are measured
        within that plane (a sagittal slice a few mm off the disc centres still finds them).
    max_distance_mm: how near the drop must be to a disc centre (None: `drop_distance_mm`).
    Returns {} when the label was dropped on its own disc. Raises LevelLabelError when `label`
    is not a disc's label, no disc is near the drop, or counting from the drop runs past the
    known labels.
    """
    by_label = {d.label: d for d in discs}
    if label not in by_label:
        raise LevelLabelError(f"no disc is labelled {label}")
    if label not in DISC_LABEL_SEQUENCE:
        raise LevelLabelError(f"{label} is not a label the discs can be counted from")
    normal = None
    if plane_normal_lps is not None:
        normal = np.asarray(plane_normal_lps, dtype=np.float64)
        normal = normal / np.linalg.norm(normal)
    drop = np.asarray(drop_lps, dtype=np.float64).reshape(3)
    limit = drop_distance_mm(discs) if max_distance_mm is None else max_distance_mm
    ordered = sorted(discs, key=lambda d: -d.centre_lps[2])  # cranial first
    distances = [_in_plane_distance_mm(drop, np.asarray(d.centre_lps), normal) for d in ordered]
    target = int(np.argmin(distances))
    if distances[target] > limit:
        raise LevelLabelError(
            f"{label} was dropped {distances[target]:.0f} mm from the nearest disc; drop it on a disc's "
            f"centre (within {limit:.0f} mm) to say which disc is {label}"
        )
    if ordered[target].label == label:
        return {}
    offset = DISC_LABEL_SEQUENCE.index(label) - target
    if offset < 0 or offset + len(ordered) > len(DISC_LABEL_SEQUENCE):
        raise LevelLabelError(
            f"counting the discs from {label} at the dropped disc runs past the spine's ends"
        )
    return {
        disc.label: DISC_LABEL_SEQUENCE[offset + index]
        for index, disc in enumerate(ordered)
        if disc.label != DISC_LABEL_SEQUENCE[offset + index]
    }

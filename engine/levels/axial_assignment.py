"""Which disc level each axial slice shows, from 3D geometry alone, and the key slice per level.

Each axial slice's plane is cut with the canal centreline (where the slice crosses the canal;
the slice centre when it does not); that point's signed distance to every disc plane (along the
disc normal) decides the nearest disc. Slices more than half a disc spacing beyond the most
cranial or most caudal disc show no level. Every slice carries its own geometry, so continuous
stacks and short stacks angled to each disc are handled alike.

The key slice of a level is the one that best shows the disc: the smallest distance to the disc
plane at the canal, plus a penalty for the angle between the slice and the disc plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.canal.centreline import CanalCentreline
from engine.findings import DiscLevel
from engine.study.model import Series

# A degree of tilt between slice and disc weighs like this many mm of distance in the key-slice choice.
DEFAULT_ANGLE_WEIGHT_MM_PER_DEG = 0.1
# A level has no key slice when its best slice is farther than this from the disc plane (mm).
DEFAULT_MAX_KEY_SLICE_DISTANCE_MM = 8.0


@dataclass(frozen=True)
class AxialSliceLevel:
    """The level of one axial slice.

    level: the nearest disc's label, None beyond the discs found.
    distance_to_disc_mm: signed distance (+ cranial) of the canal crossing to that disc's plane.
    angle_to_disc_deg: angle between the slice plane and the disc plane (0 = parallel).
    crossing_lps: where the slice meets the canal (or the slice centre), mm.
    """

    series_instance_uid: str
    slice_index: int
    sop_instance_uid: str
    frame_index: int | None
    level: str | None
    distance_to_disc_mm: float | None
    angle_to_disc_deg: float | None
    crossing_lps: tuple[float, float, float]
    crosses_canal: bool


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cosine = abs(float(np.dot(a, b)) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(cosine, 0.0, 1.0))))


def assign_axial_slices_to_levels(
    axial_series: Sequence[Series],
    discs: Sequence[DiscLevel],
    centreline: CanalCentreline | None = None,
) -> tuple[AxialSliceLevel, ...]:
    """One AxialSliceLevel per slice (with geometry) of the axial series, in series order.

    discs: every labelled disc (lumbar and others, e.g. T12-L1), any order.
    centreline: the canal from the sagittal series; without it the slice centres are used.
    """
    if not discs:
        return ()
    ordered = sorted(discs, key=lambda d: d.centre_lps[2])
    centres = np.array([d.centre_lps for d in ordered], dtype=np.float64)
    normals = np.array([d.normal_lps for d in ordered], dtype=np.float64)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    spacing = float(np.median(np.linalg.norm(np.diff(centres, axis=0), axis=1))) if len(ordered) > 1 else 40.0
    assigned = []
    for series in axial_series:
        for index, image in enumerate(series.slices):
            geometry = image.geometry
            if geometry is None:
                continue
            crossing = None if centreline is None else centreline.slice_crossing(geometry)
            point = geometry.centre_lps if crossing is None else crossing
            signed = np.einsum("ij,ij->i", point[None, :] - centres, normals)
            nearest = int(np.argmin(np.abs(signed)))
            beyond = signed[0] < -0.5 * spacing or signed[-1] > 0.5 * spacing
            assigned.append(
                AxialSliceLevel(
                    series_instance_uid=series.series_instance_uid,
                    slice_index=index,
                    sop_instance_uid=image.sop_instance_uid,
                    frame_index=image.frame_index,
                    level=None if beyond else ordered[nearest].label,
                    distance_to_disc_mm=None if beyond else float(signed[nearest]),
                    angle_to_disc_deg=None if beyond else _angle_deg(geometry.normal, normals[nearest]),
                    crossing_lps=(float(point[0]), float(point[1]), float(point[2])),
                    crosses_canal=crossing is not None,
                )
            )
    return tuple(assigned)


def key_slice_score_mm(entry: AxialSliceLevel, angle_weight_mm_per_deg: float) -> float:
    """|distance to the disc plane| + angle penalty (mm); lower is better."""
    if entry.distance_to_disc_mm is None or entry.angle_to_disc_deg is None:
        return float("inf")
    return abs(entry.distance_to_disc_mm) + angle_weight_mm_per_deg * entry.angle_to_disc_deg


def key_slices(
    assignment: Sequence[AxialSliceLevel],
    *,
    angle_weight_mm_per_deg: float = DEFAULT_ANGLE_WEIGHT_MM_PER_DEG,
    max_distance_mm: float = DEFAULT_MAX_KEY_SLICE_DISTANCE_MM,
) -> dict[str, AxialSliceLevel]:
    """The key slice per level label; levels whose best slice lies farther than `max_distance_mm`
    from the disc plane have none. Slices that cross the canal are preferred."""
    best: dict[str, AxialSliceLevel] = {}
    for entry in assignment:
        if entry.level is None or entry.distance_to_disc_mm is None:
            continue
        if abs(entry.distance_to_disc_mm) > max_distance_mm:
            continue
        current = best.get(entry.level)
        key = (not entry.crosses_canal, key_slice_score_mm(entry, angle_weight_mm_per_deg))
        if current is None or key < (
            not current.crosses_canal,
            key_slice_score_mm(current, angle_weight_mm_per_deg),
        ):
            best[entry.level] = entry
    return best

"""Where a disc level lies, and which axial slice shows it: the link between a level named in a
label or a report and the image a mask or pseudo-mask is drawn on.

A disc is given by its centre and unit normal in patient coordinates (LPS, mm), as
`engine.findings.DiscLevel` and the `levels` entries of an `lss analyze` findings file hold them.
The canal lies behind the disc: distances are measured at the canal point, the disc centre moved
`canal_offset_mm` posteriorly within the disc plane, because on an axial stack that is not parallel
to the disc the slice nearest the disc centre is not the one through the canal at the disc.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.findings import DISC_LEVELS
from engine.study.model import Orientation, Series

# Disc centre to dural sac centre, posterior, in the disc plane: 23 mm on the synthetic anatomy
# (median over the 80 levels of 16 training studies, seeds 10000-10015: the true sac centroid lies
# 2.1 mm anterior of a 25 mm point, 10th-90th percentile 0.4-3.7 mm), close to adult lumbar disc
# AP radius + canal half-depth.
DEFAULT_CANAL_OFFSET_MM = 23.0
# An axial slice farther than this from the canal point does not show the level (mm).
DEFAULT_MAX_SLICE_DISTANCE_MM = 4.0
_POSTERIOR_LPS = np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True)
class DiscPlane:
    """A labelled disc: centre (LPS mm) and unit normal (either sign)."""

    level: str
    centre_lps: tuple[float, float, float]
    normal_lps: tuple[float, float, float]

    def canal_point_lps(self, canal_offset_mm: float = DEFAULT_CANAL_OFFSET_MM) -> np.ndarray:
        """The disc centre moved posteriorly within the disc plane by canal_offset_mm, shape (3,)."""
        normal = np.asarray(self.normal_lps, dtype=np.float64)
        normal /= np.linalg.norm(normal)
        posterior = _POSTERIOR_LPS - np.dot(_POSTERIOR_LPS, normal) * normal
        length = float(np.linalg.norm(posterior))
        if length < 1e-6:
            raise ValueError(f"{self.level}: the disc normal points antero-posteriorly; no canal direction")
        return np.asarray(self.centre_lps, dtype=np.float64) + canal_offset_mm * posterior / length


@dataclass(frozen=True)
class AxialSliceChoice:
    """The axial slice through a level's canal point: series, index in Series.slices, SOP instance
    UID and frame, signed distance of the canal point to the slice plane (mm), and the canal point
    in pixel coordinates of the slice (row, column)."""

    level: str
    series_instance_uid: str
    slice_index: int
    sop_instance_uid: str
    frame_index: int | None
    distance_mm: float
    canal_rc: tuple[float, float]


def read_disc_planes(path: Path) -> dict[str, DiscPlane]:
    """Disc planes from a JSON file with {"levels": [{"label", "centre_lps", "normal_lps"}, ...]}, the
    `levels` part of an lss-findings file (other keys are ignored). Raises ValueError naming the
    file and entry that is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from exc
    entries = data.get("levels") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: no 'levels' list")
    planes: dict[str, DiscPlane] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: levels[{index}]"
        try:
            label = str(entry["label"])
            centre = tuple(float(v) for v in entry["centre_lps"])
            normal = tuple(float(v) for v in entry["normal_lps"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{where}: needs label, centre_lps [x, y, z] and normal_lps [x, y, z] ({exc})"
            ) from exc
        if label not in DISC_LEVELS:
            continue  # e.g. T12-L1: not a level the labels can name
        if len(centre) != 3 or len(normal) != 3 or not np.linalg.norm(normal) > 0:
            raise ValueError(f"{where}: centre_lps and normal_lps must be 3 numbers, the normal non-zero")
        planes[label] = DiscPlane(label, (centre[0], centre[1], centre[2]), (normal[0], normal[1], normal[2]))
    return planes


def choose_axial_slice(
    series: Iterable[Series],
    disc: DiscPlane,
    max_distance_mm: float = DEFAULT_MAX_SLICE_DISTANCE_MM,
    canal_offset_mm: float = DEFAULT_CANAL_OFFSET_MM,
) -> AxialSliceChoice | None:
    """The axial slice (of any axial series) nearest the level's canal point, if one lies within
    max_distance_mm and the point falls inside its field of view; None otherwise (the study does
    not cover the level)."""
    point = disc.canal_point_lps(canal_offset_mm)
    best: AxialSliceChoice | None = None
    for candidate in series:
        if candidate.orientation is not Orientation.AXIAL:
            continue
        for index, image in enumerate(candidate.slices):
            geometry = image.geometry
            if geometry is None:
                continue
            row, column, distance = (float(v) for v in geometry.lps_to_pixel(point))
            inside = 0 <= row <= geometry.rows - 1 and 0 <= column <= geometry.columns - 1
            if not inside or abs(distance) > max_distance_mm:
                continue
            if best is None or abs(distance) < abs(best.distance_mm):
                best = AxialSliceChoice(
                    disc.level,
                    candidate.series_instance_uid,
                    index,
                    image.sop_instance_uid,
                    image.frame_index,
                    distance,
                    (row, column),
                )
    return best

"""The spinal canal's centreline from a sagittal canal segmentation: where the canal lies at a disc,
which way it runs there (for the obliquity correction of axial measurements), and where an axial
slice crosses it (to tell which disc level the slice shows)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.study.model import SliceGeometry

SUPERIOR_LPS = np.array([0.0, 0.0, 1.0])
POSTERIOR_LPS = np.array([0.0, 1.0, 0.0])
# Without a canal segmentation the canal is taken this far behind the disc centre, in the disc
# plane: adult lumbar disc antero-posterior radius (~18 mm) plus half the sac depth (~6 mm).
DEFAULT_CANAL_OFFSET_MM = 24.0
# Half-length of the stretch of centreline a direction is fitted on (mm).
DIRECTION_WINDOW_MM = 15.0
# A disc plane meets the canal within this distance of the disc centre (mm); farther crossings
# belong to another part of the curve.
MAX_DISC_TO_CANAL_MM = 60.0
# A severe stenosis can cut the canal segmentation in pieces: pieces at least this share of the
# largest one's area, lying within this distance (mm, antero-posterior) of it, are canal too.
MIN_PIECE_FRACTION = 0.1
MAX_PIECE_OFFSET_MM = 20.0


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass(frozen=True, eq=False)
class CanalCentreline:
    """Points (N, 3) in mm (LPS) along the canal's centre, ordered caudal to cranial."""

    points_lps: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        if self.points_lps.ndim != 2 or self.points_lps.shape[1] != 3 or len(self.points_lps) < 2:
            raise ValueError("a canal centreline needs at least two 3D points")

    @property
    def length_mm(self) -> float:
        return float(np.linalg.norm(np.diff(self.points_lps, axis=0), axis=1).sum())

    def direction_at(self, point_lps: np.ndarray, window_mm: float = DIRECTION_WINDOW_MM) -> np.ndarray:
        """Unit direction of the canal (cranial) near `point_lps`, shape (3,): the principal axis
        of the centreline points within `window_mm` of the nearest centreline point."""
        point = np.asarray(point_lps, dtype=np.float64)
        nearest = self.points_lps[int(np.argmin(np.linalg.norm(self.points_lps - point, axis=1)))]
        near = self.points_lps[np.linalg.norm(self.points_lps - nearest, axis=1) <= window_mm]
        if len(near) < 2:
            near = self.points_lps
        _, _, vt = np.linalg.svd(near - near.mean(axis=0), full_matrices=False)
        direction = vt[0]
        return _unit(direction if float(direction @ SUPERIOR_LPS) >= 0 else -direction)

    def plane_crossings(self, origin_lps: np.ndarray, normal_lps: np.ndarray) -> np.ndarray:
        """Points (K, 3) where the plane through `origin_lps` with `normal_lps` cuts the centreline."""
        normal = _unit(np.asarray(normal_lps, dtype=np.float64))
        side = (self.points_lps - np.asarray(origin_lps, dtype=np.float64)) @ normal
        crossings = []
        for i in np.flatnonzero(np.sign(side[:-1]) * np.sign(side[1:]) <= 0):
            a, b = side[i], side[i + 1]
            f = 0.0 if a == b else a / (a - b)
            crossings.append(self.points_lps[i] + f * (self.points_lps[i + 1] - self.points_lps[i]))
        return np.asarray(crossings, dtype=np.float64).reshape(-1, 3)

    def point_at_disc(
        self, centre_lps: np.ndarray, normal_lps: np.ndarray, max_distance_mm: float = MAX_DISC_TO_CANAL_MM
    ) -> np.ndarray | None:
        """Where the disc plane meets the canal, nearest the disc centre; None when it does not
        meet it within `max_distance_mm`."""
        crossings = self.plane_crossings(centre_lps, normal_lps)
        if len(crossings) == 0:
            return None
        distances = np.linalg.norm(crossings - np.asarray(centre_lps), axis=1)
        best = int(np.argmin(distances))
        return crossings[best] if distances[best] <= max_distance_mm else None

    def slice_crossing(self, geometry: SliceGeometry) -> np.ndarray | None:
        """Where the slice plane cuts the centreline inside the image (nearest the image centre
        when it cuts several times); None when it does not cut it within the image."""
        crossings = self.plane_crossings(np.asarray(geometry.position_lps), geometry.normal)
        if len(crossings) == 0:
            return None
        rc = geometry.lps_to_pixel(crossings)
        inside = (
            (rc[:, 0] >= -0.5)
            & (rc[:, 0] <= geometry.rows - 0.5)
            & (rc[:, 1] >= -0.5)
            & (rc[:, 1] <= geometry.columns - 0.5)
        )
        if not inside.any():
            return None
        candidates = crossings[inside]
        return candidates[int(np.argmin(np.linalg.norm(candidates - geometry.centre_lps, axis=1)))]


def fallback_canal_point(centre_lps: np.ndarray, normal_lps: np.ndarray) -> np.ndarray:
    """The disc centre moved DEFAULT_CANAL_OFFSET_MM posterior within the disc plane, shape (3,)."""
    normal = _unit(np.asarray(normal_lps, dtype=np.float64))
    posterior = POSTERIOR_LPS - float(POSTERIOR_LPS @ normal) * normal
    return np.asarray(centre_lps, dtype=np.float64) + DEFAULT_CANAL_OFFSET_MM * _unit(posterior)


def canal_centreline_from_mask(
    canal_probability: np.ndarray,
    geometry: SliceGeometry,
    *,
    threshold: float = 0.5,
    smoothing_mm: float = 8.0,
    min_length_mm: float = 30.0,
) -> CanalCentreline | None:
    """The centreline of the canal on a sagittal slice (rows, columns): its largest component and
    the pieces in line with it (MIN_PIECE_FRACTION, MAX_PIECE_OFFSET_MM), as a stenosis may cut it.

    The canal is cut across the image axis closest to head-feet; the centre of each cut (one per
    pixel step) is a centreline point, smoothed over `smoothing_mm`; across a gap the line runs
    straight. None when no component spans `min_length_mm` head to feet.
    """
    mask = (np.asarray(canal_probability) >= threshold).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return None
    # Cut across the image axis that runs most nearly head-feet.
    rows_run_head_feet = abs(float(np.dot(geometry.column_direction, SUPERIOR_LPS))) >= abs(
        float(np.dot(geometry.row_direction, SUPERIOR_LPS))
    )
    spacing = geometry.pixel_spacing_mm[0] if rows_run_head_feet else geometry.pixel_spacing_mm[1]
    across_spacing = geometry.pixel_spacing_mm[1] if rows_run_head_feet else geometry.pixel_spacing_mm[0]
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    # Centroids are (x = column, y = row): the along and across coordinates of each piece.
    along_axis, across_axis = (1, 0) if rows_run_head_feet else (0, 1)
    main_rows, main_columns = np.nonzero(labels == largest)
    main_along, main_across = (main_rows, main_columns) if rows_run_head_feet else (main_columns, main_rows)

    def in_line(k: int) -> bool:
        """The piece's centre lies near the largest piece where that comes closest along the canal."""
        nearest = int(np.argmin(np.abs(main_along - centroids[k, along_axis])))
        at = main_across[main_along == main_along[nearest]].mean()
        return bool(abs(centroids[k, across_axis] - at) * across_spacing <= MAX_PIECE_OFFSET_MM)

    pieces = [
        k
        for k in range(1, count)
        if k == largest
        or (
            stats[k, cv2.CC_STAT_AREA] >= MIN_PIECE_FRACTION * stats[largest, cv2.CC_STAT_AREA] and in_line(k)
        )
    ]
    rows, columns = np.nonzero(np.isin(labels, pieces))
    along, across = (rows, columns) if rows_run_head_feet else (columns, rows)
    steps = np.unique(along)
    if len(steps) * spacing < min_length_mm:
        return None
    sums = np.bincount(along - steps[0], weights=across.astype(np.float64))
    counts = np.bincount(along - steps[0])
    present = counts > 0
    positions = np.arange(len(counts))[present] + steps[0]
    centres = sums[present] / counts[present]
    window = max(1, round(smoothing_mm / spacing))
    if len(centres) > window:
        kernel = np.ones(window) / window
        padded = np.pad(centres, (window // 2, window - 1 - window // 2), mode="edge")
        centres = np.convolve(padded, kernel, mode="valid")
    points = (
        geometry.pixel_to_lps(positions, centres)
        if rows_run_head_feet
        else geometry.pixel_to_lps(centres, positions)
    )
    order = np.argsort(points @ SUPERIOR_LPS)
    return CanalCentreline(points_lps=points[order])

"""Cross-referencing image planes: which slice of a series passes nearest a point, and where one
slice's plane cuts another image.

Everything works on the per-slice SliceGeometry, so angled stacks (one small stack per disc, each
slice with its own orientation) need no special case.
"""

from __future__ import annotations

import numpy as np

from engine.study.model import Series, SliceGeometry

# Below this |cos| between the other plane's normal and both in-plane axes, the planes are parallel.
_PARALLEL_TOLERANCE = 1e-6


def _point_projects_inside(geometry: SliceGeometry, point_lps: np.ndarray) -> bool:
    row, col, _ = geometry.lps_to_pixel(point_lps)
    return bool(-0.5 <= row <= geometry.rows - 0.5 and -0.5 <= col <= geometry.columns - 0.5)


def nearest_slice_index(series: Series, point_lps: tuple[float, float, float] | np.ndarray) -> int:
    """Index of the slice of `series` whose plane passes nearest `point_lps` (mm, LPS).

    Slices whose image rectangle contains the point's perpendicular projection are preferred, so
    that in an angled per-disc stack the plane of another disc, tilted so that its infinite
    extension grazes the point far outside its image, is not chosen. When no slice's image
    contains the projection, the nearest plane of all is returned.

    Raises ValueError when no slice of the series has geometry.
    """
    point = np.asarray(point_lps, dtype=np.float64)
    candidates: list[tuple[bool, float, int]] = []
    for index, image in enumerate(series.slices):
        if image.geometry is None:
            continue
        distance = abs(float(image.geometry.lps_to_pixel(point)[2]))
        inside = _point_projects_inside(image.geometry, point)
        candidates.append((not inside, distance, index))
    if not candidates:
        raise ValueError(f"series {series.series_instance_uid} has no slice with geometry")
    return min(candidates)[2]


def plane_intersection_in_image(
    image: SliceGeometry, other: SliceGeometry
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The segment where the plane of `other` cuts the image `image`, in `image`'s pixel indices.

    Returns ((row0, col0), (row1, col1)), clipped to the image rectangle (pixel edges, i.e.
    rows -0.5..rows-0.5), or None when the planes are parallel or the line misses the image.
    """
    normal = other.normal
    origin = np.asarray(image.position_lps, dtype=np.float64)
    # Points of `image` satisfy normal . (p(row, col) - other.position) = 0, a line a*row + b*col + d = 0.
    a = image.pixel_spacing_mm[0] * float(np.dot(normal, image.column_direction))
    b = image.pixel_spacing_mm[1] * float(np.dot(normal, image.row_direction))
    d = float(np.dot(normal, origin - np.asarray(other.position_lps, dtype=np.float64)))
    scale = max(image.pixel_spacing_mm)
    if abs(a) < _PARALLEL_TOLERANCE * scale and abs(b) < _PARALLEL_TOLERANCE * scale:
        return None
    row_lo, row_hi = -0.5, image.rows - 0.5
    col_lo, col_hi = -0.5, image.columns - 0.5
    points: list[tuple[float, float]] = []
    if abs(b) > _PARALLEL_TOLERANCE * scale:
        for row in (row_lo, row_hi):
            col = -(a * row + d) / b
            if col_lo <= col <= col_hi:
                points.append((row, col))
    if abs(a) > _PARALLEL_TOLERANCE * scale:
        for col in (col_lo, col_hi):
            row = -(b * col + d) / a
            if row_lo <= row <= row_hi:
                points.append((row, col))
    if len(points) < 2:
        return None
    # A line through a corner is found twice; the two points farthest apart are the segment.
    pts = np.asarray(points)
    gaps = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=-1)
    i, j = np.unravel_index(int(np.argmax(gaps)), gaps.shape)
    if gaps[i, j] == 0.0:
        return None
    return (float(pts[i, 0]), float(pts[i, 1])), (float(pts[j, 0]), float(pts[j, 1]))

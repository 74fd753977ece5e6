"""Dural sac cross-sectional area (DSCA) and antero-posterior (AP) diameter from a slice mask.

The mask lies on an image plane that may be oblique to the canal (axial stacks are often angled
to the disc, not to the canal). A tube with unit axis t cut by a plane with unit normal n shows a
cross-section stretched by 1/|n.t|, and a length along the in-plane direction u stretched by
1/sqrt(1 - (u.t)^2). Both are corrected when the canal direction is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.study.model import SliceGeometry

# Patient "posterior" in LPS; the AP axis of a slice is this vector projected into the plane.
_POSTERIOR_LPS = np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True)
class DuralSacMeasurement:
    """Measurements of one dural sac mask, corrected to the plane perpendicular to the canal.

    dural_sac_area_mm2: corrected cross-sectional area (mm^2).
    ap_diameter_mm: corrected AP extent through the sac's centroid (mm).
    in_plane_area_mm2: area as drawn on the slice (mm^2), before the obliquity correction.
    obliquity_deg: angle between the slice normal and the canal axis (0 when perpendicular).
    pixel_count: number of mask pixels.
    """

    dural_sac_area_mm2: float
    ap_diameter_mm: float
    in_plane_area_mm2: float
    obliquity_deg: float
    pixel_count: int


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise ValueError("zero-length direction")
    return vector / norm


def in_plane_ap_direction(geometry: SliceGeometry) -> np.ndarray:
    """Unit vector (LPS) pointing posterior within the slice plane, shape (3,)."""
    normal = geometry.normal
    posterior = _POSTERIOR_LPS - np.dot(_POSTERIOR_LPS, normal) * normal
    if np.linalg.norm(posterior) < 1e-6:
        raise ValueError("the slice is coronal: it has no antero-posterior direction")
    return _unit(posterior)


def measure_dural_sac(
    mask: np.ndarray,
    geometry: SliceGeometry,
    canal_direction_lps: tuple[float, float, float] | np.ndarray | None = None,
) -> DuralSacMeasurement:
    """Measure a dural sac mask on one slice.

    mask: bool or 0/1 array (rows, columns) on the slice described by `geometry`.
    canal_direction_lps: the canal's axis at this level (any length, either sign); when None the
        slice is taken as perpendicular to the canal (no correction).
    Returns a DuralSacMeasurement; an empty mask measures 0 mm^2 and 0 mm.
    """
    mask = np.asarray(mask).astype(bool)
    if mask.shape != (geometry.rows, geometry.columns):
        raise ValueError(
            f"mask shape {mask.shape} does not match the slice ({geometry.rows}, {geometry.columns})"
        )
    row_spacing, column_spacing = geometry.pixel_spacing_mm
    pixel_count = int(mask.sum())
    in_plane_area = pixel_count * row_spacing * column_spacing

    normal = geometry.normal
    ap_direction = in_plane_ap_direction(geometry)
    area_factor, ap_factor = 1.0, 1.0
    if canal_direction_lps is not None:
        axis = _unit(np.asarray(canal_direction_lps, dtype=np.float64))
        area_factor = abs(float(np.dot(normal, axis)))
        ap_factor = float(np.sqrt(max(0.0, 1.0 - float(np.dot(ap_direction, axis)) ** 2)))
    obliquity = float(np.degrees(np.arccos(min(1.0, area_factor))))

    ap_in_plane = _ap_extent_mm(mask, geometry, ap_direction) if pixel_count else 0.0
    return DuralSacMeasurement(
        dural_sac_area_mm2=in_plane_area * area_factor,
        ap_diameter_mm=ap_in_plane * ap_factor,
        in_plane_area_mm2=in_plane_area,
        obliquity_deg=obliquity,
        pixel_count=pixel_count,
    )


def _ap_extent_mm(mask: np.ndarray, geometry: SliceGeometry, ap_direction: np.ndarray) -> float:
    """Length (mm) of the mask along the AP line through its centroid.

    Pixels are projected on the in-plane AP axis u and the perpendicular in-plane axis v; the
    pixels within half a pixel of the centroid's v form the chord, whose extent along u plus one
    pixel's footprint along u is the diameter.
    """
    row_spacing, column_spacing = geometry.pixel_spacing_mm
    rows, columns = np.nonzero(mask)
    # Millimetre offsets of each pixel along the image's column (row index) and row (column index) axes.
    column_axis = np.asarray(geometry.column_direction) * row_spacing
    row_axis = np.asarray(geometry.row_direction) * column_spacing
    lateral_direction = np.cross(geometry.normal, ap_direction)
    u_per_row, u_per_col = float(column_axis @ ap_direction), float(row_axis @ ap_direction)
    v_per_row, v_per_col = float(column_axis @ lateral_direction), float(row_axis @ lateral_direction)
    u = rows * u_per_row + columns * u_per_col
    v = rows * v_per_row + columns * v_per_col
    pixel_u = abs(u_per_row) + abs(u_per_col)  # footprint of one pixel along u
    pixel_v = abs(v_per_row) + abs(v_per_col)
    chord = np.abs(v - v.mean()) <= pixel_v / 2.0
    if not chord.any():
        chord = np.abs(v - v.mean()) <= np.abs(v - v.mean()).min() + 1e-9
    return float(u[chord].max() - u[chord].min() + pixel_u)

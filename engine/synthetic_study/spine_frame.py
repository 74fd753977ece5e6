"""The curved spine frame: patient space (LPS, mm) <-> local spine coordinates (s, u, v).

The reference curve is the posterior margin of the vertebral bodies in the midline, a planar
curve in the sagittal (y, z) plane with lumbar lordosis above the sacrum and sacral kyphosis
below it, shifted sideways by a small scoliosis. Local coordinates of a point:

- s: arc length (mm) of its nearest curve point, increasing cranially; s = 0 at the posterior
  corner of the S1 superior endplate;
- v: signed distance (mm) from the curve along the in-plane normal, positive posteriorly;
- u: lateral offset (mm) from the (scoliotic) midline, positive to the patient's left.

Level sets of s are planes (the curve is planar), so an s-slab is a wedge whose anterior side is
taller, exactly like lordotic discs; the cross-section plane at s is perpendicular to the canal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_CURVE_STEP_MM = 0.25
_TABLE_STEP_MM = 1.5


@dataclass(frozen=True)
class SpineCurveShape:
    """Parameters of the reference curve.

    lordosis_deg: tangent rotation between the S1 superior endplate and s = lumbar_length_mm.
    sacral_slope_deg: tilt of the S1 superior endplate from the horizontal.
    sacral_radius_mm: radius of curvature of the sacrum (kyphotic).
    scoliosis_mm: amplitude of the lateral shift of the midline; scoliosis_phase: its phase.
    origin_lps: where s = 0 lies in patient space.
    """

    lordosis_deg: float
    sacral_slope_deg: float
    lumbar_length_mm: float
    sacral_radius_mm: float
    scoliosis_mm: float
    scoliosis_phase: float
    origin_lps: tuple[float, float, float]
    s_min_mm: float = -140.0
    s_max_mm: float = 300.0


@dataclass(frozen=True, eq=False)
class SpineFrame:
    """Tabulated reference curve and the inverse map from patient space to (s, u, v)."""

    shape: SpineCurveShape
    s_grid: np.ndarray = field(repr=False)  # (n,) arc length samples, mm
    centre_yz: np.ndarray = field(repr=False)  # (n, 2) curve points (y, z), mm
    theta: np.ndarray = field(repr=False)  # (n,) tangent angle from +z towards anterior (-y), rad
    table_origin_yz: tuple[float, float] = (0.0, 0.0)
    s_table: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((1, 1)))  # (nz, ny)
    v_table: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((1, 1)))

    def tangent(self, s: float) -> np.ndarray:
        """Unit tangent (LPS) at arc length s, pointing cranially, shape (3,).

        The scoliotic shift is a shear along x that keeps s-level sets planar, so the plane
        perpendicular to the canal at s has this normal.
        """
        th = float(np.interp(s, self.s_grid, self.theta))
        return np.array([0.0, -np.sin(th), np.cos(th)])

    def posterior_normal(self, s: float) -> np.ndarray:
        """Unit in-plane normal (LPS) at s, pointing posteriorly, shape (3,)."""
        th = float(np.interp(s, self.s_grid, self.theta))
        return np.array([0.0, np.cos(th), np.sin(th)])

    def midline_x(self, s: np.ndarray | float) -> np.ndarray:
        """x (mm) of the scoliotic midline at arc length s; same shape and dtype as s."""
        sh = self.shape
        s_arr = np.asarray(s)
        phase = s_arr * np.float32(np.pi / (sh.lumbar_length_mm * 1.3)) + np.float32(sh.scoliosis_phase)
        return np.float32(sh.origin_lps[0]) + np.float32(sh.scoliosis_mm) * np.sin(phase)

    def to_lps(self, s: float, u: float, v: float) -> np.ndarray:
        """Patient coordinates (mm) of local point (s, u, v), shape (3,)."""
        return self.points_lps(np.array([s]), np.array([u]), np.array([v]))[0]

    def points_lps(self, s: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Patient coordinates (mm) of local points; s, u, v broadcast to (n,), result (n, 3)."""
        s, u, v = np.broadcast_arrays(np.asarray(s, float), np.asarray(u, float), np.asarray(v, float))
        y = np.interp(s, self.s_grid, self.centre_yz[:, 0])
        z = np.interp(s, self.s_grid, self.centre_yz[:, 1])
        th = np.interp(s, self.s_grid, self.theta)
        return np.stack([self.midline_x(s) + u, y + v * np.cos(th), z + v * np.sin(th)], axis=-1)

    def to_local(self, points_lps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(s, u, v) in mm, each float32 of shape (n,), for points (n, 3) in LPS."""
        p = np.asarray(points_lps, dtype=np.float32)
        s, v = self.arc_length_and_depth(p[:, 1], p[:, 2])
        u = p[:, 0] - self.midline_x(s)
        return s, u, v

    def arc_length_and_depth(self, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s, v) in mm, float32, for sagittal-plane coordinates y, z (any equal shapes).

        Bilinear interpolation in the tabulated nearest-point map; outside the table the edge
        value is used (only far soft tissue lies there).
        """
        oy, oz = self.table_origin_yz
        nz, ny = self.s_table.shape
        fy = np.clip(
            (np.asarray(y, dtype=np.float32) - np.float32(oy)) / np.float32(_TABLE_STEP_MM), 0, ny - 1.001
        )
        fz = np.clip(
            (np.asarray(z, dtype=np.float32) - np.float32(oz)) / np.float32(_TABLE_STEP_MM), 0, nz - 1.001
        )
        iy = fy.astype(np.int32)
        iz = fz.astype(np.int32)
        wy = fy - iy
        wz = fz - iz
        flat = iz * ny + iy
        out = []
        for table in (self.s_table.ravel(), self.v_table.ravel()):
            a = table.take(flat)
            b = table.take(flat + 1)
            c = table.take(flat + ny)
            d = table.take(flat + ny + 1)
            top = a + (b - a) * wy
            out.append(top + ((c + (d - c) * wy) - top) * wz)
        return out[0], out[1]


def _curvature(shape: SpineCurveShape, s: np.ndarray) -> np.ndarray:
    """Signed curvature dtheta/ds (1/mm): negative in the lordotic lumbar spine (centre of
    curvature posterior), positive in the kyphotic sacrum; lordosis is strongest low down."""
    lumbar_mean = np.deg2rad(shape.lordosis_deg) / shape.lumbar_length_mm
    lumbar = -lumbar_mean * (1.6 - 1.2 * s / shape.lumbar_length_mm)
    sacral = np.full_like(s, 1.0 / shape.sacral_radius_mm)
    # S1 body is nearly straight: blend from lumbar to sacral curvature between s = -30 and -5.
    blend = np.clip((-5.0 - s) / 25.0, 0.0, 1.0)
    return np.where(s >= 0.0, lumbar, (1.0 - blend) * (-1.6 * lumbar_mean) + blend * sacral)


def build_spine_frame(shape: SpineCurveShape) -> SpineFrame:
    """Integrate the curve from its curvature and tabulate the inverse map on a (z, y) grid."""
    s = np.arange(shape.s_min_mm, shape.s_max_mm + _CURVE_STEP_MM / 2, _CURVE_STEP_MM)
    kappa = _curvature(shape, s)
    i0 = int(np.argmin(np.abs(s)))
    dtheta = np.concatenate([[0.0], np.cumsum(0.5 * (kappa[1:] + kappa[:-1]) * _CURVE_STEP_MM)])
    theta = np.deg2rad(shape.sacral_slope_deg) + dtheta - dtheta[i0]
    ty, tz = -np.sin(theta), np.cos(theta)
    y = np.concatenate([[0.0], np.cumsum(0.5 * (ty[1:] + ty[:-1]) * _CURVE_STEP_MM)])
    z = np.concatenate([[0.0], np.cumsum(0.5 * (tz[1:] + tz[:-1]) * _CURVE_STEP_MM)])
    y += shape.origin_lps[1] - y[i0]
    z += shape.origin_lps[2] - z[i0]
    centre = np.stack([y, z], axis=1)
    s_tab, v_tab, origin = _projection_table(s, centre, theta)
    return SpineFrame(shape, s, centre, theta, origin, s_tab, v_tab)


def _projection_table(
    s: np.ndarray, centre: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Nearest-curve-point arc length and signed normal distance on a regular (z, y) grid."""
    margin = 320.0
    y0 = float(centre[:, 0].min() - margin)
    z0 = float(centre[:, 1].min() - 60.0)
    ny = int((centre[:, 0].max() + margin - y0) / _TABLE_STEP_MM) + 2
    nz = int((centre[:, 1].max() + 60.0 - z0) / _TABLE_STEP_MM) + 2
    gz, gy = np.meshgrid(
        z0 + _TABLE_STEP_MM * np.arange(nz), y0 + _TABLE_STEP_MM * np.arange(ny), indexing="ij"
    )
    py, pz = gy.ravel(), gz.ravel()
    # Initial guess: the curve point at the same height (z is monotonic along the curve).
    sq = np.interp(pz, centre[:, 1], s)
    for _ in range(12):  # Newton on (p - C(s)) . t(s) = 0
        th = np.interp(sq, s, theta)
        cy = np.interp(sq, s, centre[:, 0])
        cz = np.interp(sq, s, centre[:, 1])
        dy, dz = py - cy, pz - cz
        f = -dy * np.sin(th) + dz * np.cos(th)
        dth = np.interp(sq, s, np.gradient(theta, s))
        fprime = -1.0 - dth * (dy * np.cos(th) + dz * np.sin(th))
        step = np.where(np.abs(fprime) > 0.2, f / fprime, -f)
        sq = np.clip(sq - np.clip(step, -15.0, 15.0), s[0], s[-1])
    th = np.interp(sq, s, theta)
    v = (py - np.interp(sq, s, centre[:, 0])) * np.cos(th) + (pz - np.interp(sq, s, centre[:, 1])) * np.sin(
        th
    )
    return (
        sq.reshape(nz, ny).astype(np.float32),
        v.reshape(nz, ny).astype(np.float32),
        (y0, z0),
    )

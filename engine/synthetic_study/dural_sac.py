"""The dural sac: a tube with a compressible cross-section, the conus and the cauda equina.

Cross-section at arc length s, in the plane perpendicular to the canal, local coordinates (u, v)
in mm (u to the patient's left, v posterior, see `spine_frame`): an ellipse with semi-axes
a(s), b(s) centred at (0, centre_v), squeezed at each stenotic disc level k by

    f(phi, s) = 1 - sum_k c_k * exp(-((s - s_k) / sigma_k)^2 / 2) * g_k(phi)

where g_k is a trefoil pattern (an anterior lobe from the disc, two posterolateral lobes from the
ligamentum flavum and facets). A point is inside when its ellipse-normalised radius is below f.
The area at a disc follows from a polar integral, so the compression c_k is solved in closed form
for a target DSCA and the ground-truth area is exact.

Rootlets are discs of fixed radius placed in the sac's *normalised* coordinates: when the sac
shrinks they keep their size and fill it (grade B), and at C/D they swell into one homogeneous
grey mass (the clumping the Schizas grades describe). Each root leaves the sac just above its
exit level and runs through the foramen; those paths are tabulated along s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_PHI = np.linspace(-np.pi, np.pi, 2881)[:-1]
_ROOT_TABLE_STEP_MM = 0.5


@dataclass(frozen=True)
class LevelCompression:
    """How the sac is squeezed and its rootlets arranged at one disc level.

    compression: c_k in f above (0 = round sac, 0.9 = nearly closed).
    sigma_mm: half-length of the hourglass along the canal.
    lobe_shift_rad: the anterior (disc) lobe turned towards one side (paracentral protrusion).
    fill: 0 keeps rootlets layered dorsally (A), 1 spreads them over the whole sac (B-D).
    clump: relative growth of the rootlet radius at the level (0 for A, ~5 for C/D).
    homogeneous: within about one sigma of the disc the whole sac is clumped roots (C/D).
    grainy: near the disc about half of the sac is fine rootlets, the rest CSF (B).
    """

    level: str
    s_centre: float
    sigma_mm: float
    compression: float
    lobe_shift_rad: float
    fill: float
    clump: float
    homogeneous: bool = False  # C/D: no CSF left between the roots near the disc
    grainy: bool = False  # B: crowded roots with a little CSF between them near the disc


@dataclass(frozen=True, eq=False)
class DuralSac:
    """Shape of the sac along the canal, the conus, and tabulated root paths."""

    knots_s: np.ndarray = field(repr=False)  # (k,) arc lengths of the size knots, mm
    knots_a: np.ndarray = field(repr=False)  # (k,) lateral semi-axis at the knots, mm
    knots_b: np.ndarray = field(repr=False)  # (k,) AP semi-axis at the knots, mm
    centre_v: float  # AP position of the centre, mm posterior of the vertebral bodies
    s_end: float  # caudal tip of the thecal sac (about S2), mm
    taper_mm: float  # length over which the sac narrows to its tip
    levels: tuple[LevelCompression, ...]
    conus_top_s: float  # the cord starts tapering here
    conus_tip_s: float  # tip of the conus medullaris
    cord_a: float
    cord_b: float
    roots_s0: float = 0.0
    root_u: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0), np.float32))
    root_v: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0), np.float32))
    root_r: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0), np.float32))
    root_inside: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0), bool))

    # ---- shape -------------------------------------------------------------------------
    def base_axes(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Uncompressed semi-axes (a, b) in mm at arc lengths s (any shape)."""
        taper = np.sqrt(np.clip((np.asarray(s) - self.s_end) / self.taper_mm, 0.0, 1.0))
        a = np.interp(s, self.knots_s, self.knots_a) * taper
        b = np.interp(s, self.knots_s, self.knots_b) * taper
        return a.astype(np.float32), b.astype(np.float32)

    def squeeze(self, s: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """f(phi, s): the fraction of the ellipse radius left by the compressions."""
        f = np.ones(np.broadcast(s, phi).shape, dtype=np.float32)
        for lv in self.levels:
            if lv.compression <= 0.0:
                continue
            w = np.exp(-0.5 * ((s - lv.s_centre) / lv.sigma_mm) ** 2)
            f -= (lv.compression * w * trefoil(phi, lv.lobe_shift_rad)).astype(np.float32)
        return f

    def normalized_radius(self, s: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Radius normalised to the compressed boundary: < 1 inside the sac (float32, shape of s)."""
        a, b = self.base_axes(s)
        dv = v - np.float32(self.centre_v)
        e = np.sqrt((u / np.maximum(a, 1e-3)) ** 2 + (dv / np.maximum(b, 1e-3)) ** 2)
        f = self.squeeze(s, np.arctan2(dv, u))
        return e / np.maximum(f, 1e-3)

    def radius(self, s: float, phi: np.ndarray) -> np.ndarray:
        """Boundary distance (mm) from the centre along directions phi at arc length s."""
        a, b = (float(x) for x in self.base_axes(np.asarray(s)))
        if a <= 0.0 or b <= 0.0:
            return np.zeros_like(phi)
        r_ellipse = a * b / np.sqrt((b * np.cos(phi)) ** 2 + (a * np.sin(phi)) ** 2)
        return r_ellipse * self.squeeze(np.full_like(phi, s), phi)

    def area_mm2(self, s: float) -> float:
        """Cross-sectional area (mm^2) of the sac at s, perpendicular to the canal."""
        r = self.radius(s, _PHI)
        return float(0.5 * np.sum(r.astype(np.float64) ** 2) * (2 * np.pi / len(_PHI)))

    def ap_diameter_mm(self, s: float) -> float:
        """Antero-posterior diameter (mm) of the sac in the midline at s."""
        r = self.radius(s, np.array([np.pi / 2, -np.pi / 2]))
        return float(r.sum())

    def points(self, s: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) in mm of normalised positions (qx, qy), |q| < 1, in the sac at arc lengths s."""
        s = np.asarray(s, dtype=np.float64)
        rho = np.hypot(qx, qy)
        phi = np.arctan2(qy, qx)
        a, b = self.base_axes(s)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        denom = np.sqrt((b64 * np.cos(phi)) ** 2 + (a64 * np.sin(phi)) ** 2)
        r = np.where(denom > 0, a64 * b64 / np.maximum(denom, 1e-9), 0.0) * self.squeeze(s, phi)
        return rho * r * np.cos(phi), self.centre_v + rho * r * np.sin(phi)

    # ---- contents ------------------------------------------------------------------------
    def cord_mask(self, s: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """True inside the distal cord / conus (an ellipse tapering to the conus tip)."""
        taper = np.clip((s - self.conus_tip_s) / (self.conus_top_s - self.conus_tip_s), 0.0, 1.0)
        a = self.cord_a * np.sqrt(taper) + 1e-3
        b = self.cord_b * np.sqrt(taper) + 1e-3
        return (u / a) ** 2 + ((v - (self.centre_v + 0.8)) / b) ** 2 < 1.0

    def clumped_mask(self, s: np.ndarray) -> np.ndarray:
        """True where the sac content is one homogeneous grey mass of roots (C/D levels)."""
        out = np.zeros(np.shape(s), dtype=bool)
        for lv in self.levels:
            if lv.homogeneous:
                out |= np.abs(s - lv.s_centre) < 1.1 * lv.sigma_mm
        return out

    def grain_weight(self, s: np.ndarray) -> np.ndarray:
        """0..1, how strongly the sac is crowded with fine rootlets (grade B levels) at s."""
        out = np.zeros(np.shape(s), dtype=np.float32)
        for lv in self.levels:
            if lv.grainy:
                out = np.maximum(out, np.exp(-0.5 * ((s - lv.s_centre) / lv.sigma_mm) ** 2))
        return out

    def root_index(self, s: np.ndarray) -> np.ndarray:
        n = self.root_u.shape[1]
        j = np.rint((s - np.float32(self.roots_s0)) / np.float32(_ROOT_TABLE_STEP_MM)).astype(np.int32)
        return np.clip(j, 0, n - 1)

    def rootlet_mask(self, s: np.ndarray, u: np.ndarray, v: np.ndarray, inside: bool) -> np.ndarray:
        """True where a root covers the point; `inside` selects the intrathecal parts of the
        roots (cauda equina) or the parts that have left the sac (exiting roots)."""
        j = self.root_index(s)
        hit = np.zeros(s.shape, dtype=bool)
        for i in range(self.root_u.shape[0]):
            present = (self.root_r[i] > 0) & (self.root_inside[i] == inside)
            cols = np.flatnonzero(present)
            if cols.size == 0:
                continue
            near = np.flatnonzero((j >= cols[0]) & (j <= cols[-1]))
            if near.size == 0:
                continue
            jn = j[near]
            r = self.root_r[i].take(jn) * present.take(jn)
            du = u[near] - self.root_u[i].take(jn)
            dv = v[near] - self.root_v[i].take(jn)
            hit[near[du * du + dv * dv < r * r]] = True
        return hit


def trefoil(phi: np.ndarray, lobe_shift_rad: float) -> np.ndarray:
    """Compression pattern g(phi) in [0.3, 1]: anterior lobe (disc) at -90 deg + shift, two
    posterolateral lobes (ligamentum flavum, facets) at 90 +- 50 deg; phi from +u towards +v."""
    anterior = np.exp(-0.5 * (_wrap(phi - (-np.pi / 2 + lobe_shift_rad)) / 0.75) ** 2)
    psi = np.abs(_wrap(phi - np.pi / 2))
    posterolateral = np.exp(-0.5 * ((psi - 0.87) / 0.5) ** 2)
    return 0.3 + 0.7 * np.maximum(anterior, posterolateral)


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def solve_compression(sac: DuralSac, s: float, lobe_shift_rad: float, target_area_mm2: float) -> float:
    """Compression c at s giving the target area (closed form of the quadratic polar integral).

    Returns 0 when the uncompressed sac is already smaller than the target.
    """
    a, b = (float(x) for x in sac.base_axes(np.asarray(s)))
    r2 = (a * b) ** 2 / ((b * np.cos(_PHI)) ** 2 + (a * np.sin(_PHI)) ** 2)
    g = trefoil(_PHI, lobe_shift_rad)
    d = 2 * np.pi / len(_PHI)
    a0 = 0.5 * np.sum(r2) * d
    i1 = np.sum(r2 * g) * d
    i2 = 0.5 * np.sum(r2 * g * g) * d
    if target_area_mm2 >= a0:
        return 0.0
    # i2 c^2 - i1 c + (a0 - target) = 0, smaller root
    disc = i1 * i1 - 4 * i2 * (a0 - target_area_mm2)
    return float((i1 - np.sqrt(max(disc, 0.0))) / (2 * i2))


@dataclass(frozen=True)
class RootPlan:
    """One nerve root: where it lies in the sac and where it leaves.

    exit_s: arc length of the disc below its foramen (None: a sacral root that stays in the sac).
    side: +1 left, -1 right. dorsal_q / fill_q: normalised positions in the layered (grade A)
    and spread (B-D) arrangements. radius_mm: its radius inside the sac.
    """

    exit_s: float | None
    side: int
    dorsal_q: tuple[float, float]
    fill_q: tuple[float, float]
    radius_mm: float
    wander: tuple[float, float, float, float]  # amplitude x, y (normalised), wavelength, phase


def tabulate_roots(
    sac: DuralSac,
    roots: tuple[RootPlan, ...],
    s_max: float,
    foramen_u: np.ndarray,
    foramen_s: np.ndarray,
) -> DuralSac:
    """Return `sac` with root paths tabulated every 0.5 mm of arc length.

    foramen_u(s) (sampled at foramen_s): lateral position (mm) of the pedicles' medial border,
    where an exiting root enters its foramen.
    """
    s0 = sac.s_end
    s_grid = np.arange(s0, s_max, _ROOT_TABLE_STEP_MM)
    m, n = len(roots), len(s_grid)
    ru = np.zeros((m, n), np.float32)
    rv = np.zeros((m, n), np.float32)
    rr = np.zeros((m, n), np.float32)
    inside = np.zeros((m, n), bool)
    fill = np.zeros(n)
    clump = np.zeros(n)
    for lv in sac.levels:
        w = np.exp(-0.5 * ((s_grid - lv.s_centre) / lv.sigma_mm) ** 2)
        fill = np.maximum(fill, lv.fill * w)
        clump = clump + lv.clump * w
    for i, root in enumerate(roots):
        amp_x, amp_y, wavelength, phase = root.wander
        wob = np.sin(2 * np.pi * s_grid / wavelength + phase)
        qx = (1 - fill) * root.dorsal_q[0] + fill * root.fill_q[0] + amp_x * wob
        qy = (
            (1 - fill) * root.dorsal_q[1]
            + fill * root.fill_q[1]
            + amp_y * np.cos(2 * np.pi * s_grid / wavelength + phase)
        )
        radius = root.radius_mm * (1 + clump)
        exit_q = (0.9 * root.side, -0.3)
        if root.exit_s is not None:
            leave = root.exit_s + 13.0
            # blend towards the anterolateral wall over the 20 mm above the point of leaving
            t = np.clip((s_grid - leave) / 20.0, 0.0, 1.0)
            qx = t * qx + (1 - t) * exit_q[0]
            qy = t * qy + (1 - t) * exit_q[1]
        keep = np.ones(n, bool) if root.exit_s is None else s_grid >= root.exit_s + 13.0
        u, v = sac.points(s_grid[keep], qx[keep], qy[keep])
        ru[i, keep], rv[i, keep], rr[i, keep], inside[i, keep] = u, v, radius[keep], True
        if root.exit_s is not None:
            _tabulate_exit(root, sac, s_grid, foramen_s, foramen_u, ru[i], rv[i], rr[i])
    return DuralSac(
        sac.knots_s,
        sac.knots_a,
        sac.knots_b,
        sac.centre_v,
        sac.s_end,
        sac.taper_mm,
        sac.levels,
        sac.conus_top_s,
        sac.conus_tip_s,
        sac.cord_a,
        sac.cord_b,
        float(s0),
        ru,
        rv,
        rr,
        inside,
    )


def _tabulate_exit(
    root: RootPlan,
    sac: DuralSac,
    s_grid: np.ndarray,
    foramen_s: np.ndarray,
    foramen_u: np.ndarray,
    ru: np.ndarray,
    rv: np.ndarray,
    rr: np.ndarray,
) -> None:
    """Path of a root after it leaves the sac: lateral recess, foramen, then anterolaterally
    into the psoas; knots (s, u, v, radius) interpolated linearly along s."""
    assert root.exit_s is not None
    e = root.exit_s
    leave = sac.points(np.array([e + 13.0]), np.array([0.95 * root.side]), np.array([-0.3]))
    leave_u, leave_v = float(leave[0][0]), float(leave[1][0])
    fu = float(np.interp(e + 5.0, foramen_s, foramen_u))
    knots = np.array(
        [
            (e + 13.0, leave_u, leave_v, 1.1),
            (e + 5.0, root.side * (fu + 2.5), 2.5, 2.2),
            (e - 5.0, root.side * (fu + 14.0), -4.0, 2.1),
            (e - 40.0, root.side * (fu + 34.0), -20.0, 1.9),
        ]
    )
    sel = (s_grid < e + 13.0) & (s_grid >= e - 40.0)
    order = np.argsort(knots[:, 0])
    for col, out in ((1, ru), (2, rv), (3, rr)):
        out[sel] = np.interp(s_grid[sel], knots[order, 0], knots[order, col])

"""Evaluate the synthetic anatomy at arbitrary points: label id and T2/T1 signal per point.

Structures are painted in priority order (soft tissue first, the dural sac last), each on the
subset of points inside its bounding region, so a slice costs a few dozen vectorised operations
per pixel. The same function serves sagittal and (angled) axial planes, which is what makes the
series and the ground truth exactly consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.synthetic_study.anatomy import Anatomy, roof_depth
from engine.synthetic_study.labels import TISSUE_SIGNAL, Label, Tissue

_F = np.float32


@dataclass(frozen=True)
class FieldSamples:
    """Result of evaluating the anatomy at n points."""

    label: np.ndarray  # (n,) uint8 Label ids
    t2: np.ndarray  # (n,) float32 relative T2-weighted signal
    t1: np.ndarray  # (n,) float32 relative T1-weighted signal


@dataclass
class _Canvas:
    label: np.ndarray
    t2: np.ndarray
    t1: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Canvas:
        return cls(np.zeros(n, np.uint8), np.zeros(n, _F), np.zeros(n, _F))

    def paint(
        self,
        mask: np.ndarray,
        label: Label,
        tissue: Tissue,
        t2: np.ndarray | float | None = None,
        t1: np.ndarray | float | None = None,
    ) -> None:
        self.label[mask] = label
        self.t2[mask] = TISSUE_SIGNAL[tissue, 0] if t2 is None else t2
        self.t1[mask] = TISSUE_SIGNAL[tissue, 1] if t1 is None else t1

    def take(self, idx: np.ndarray) -> _Canvas:
        return _Canvas(self.label[idx], self.t2[idx], self.t1[idx])

    def put(self, idx: np.ndarray, sub: _Canvas) -> None:
        self.label[idx] = sub.label
        self.t2[idx] = sub.t2
        self.t1[idx] = sub.t1


@dataclass(frozen=True, eq=False)
class _Tables:
    """Per-vertebra and per-disc parameters as arrays, for gathers by index."""

    vert_mid: np.ndarray
    vert_height: np.ndarray
    vert_hw: np.ndarray
    vert_depth: np.ndarray
    vert_cw: np.ndarray
    vert_pw: np.ndarray
    vert_tp: np.ndarray
    vert_sp: np.ndarray
    vert_marrow: np.ndarray
    vert_label: np.ndarray
    disc_low: np.ndarray
    disc_high: np.ndarray
    disc_mid: np.ndarray
    disc_slope: np.ndarray
    disc_nucleus: np.ndarray
    disc_bulge: np.ndarray
    disc_bulge_u: np.ndarray
    disc_bulge_w: np.ndarray
    disc_label: np.ndarray
    disc_cleft: np.ndarray
    lf_extra: np.ndarray
    lf_sigma: np.ndarray
    facet_r: np.ndarray
    facet_cos: np.ndarray
    facet_sin: np.ndarray
    facet_gap: np.ndarray
    roof_s: np.ndarray = field(repr=False)
    roof_v: np.ndarray = field(repr=False)
    lf_base: float = 3.0


def _tables(anatomy: Anatomy) -> _Tables:
    vs, ds, ps = anatomy.vertebrae, anatomy.discs, anatomy.posterior_levels
    lf_base = anatomy.lf_base_mm
    sigma = {lv.level: lv.sigma_mm for lv in anatomy.sac.levels}
    roof_s = np.linspace(vs[0].s_mid - 60.0, vs[-1].s_mid + 40.0, 200)
    roof_v = np.array([roof_depth(anatomy.sac, lf_base, anatomy.roof_extra_mm, float(s)) for s in roof_s])
    # The sacral canal narrows below the sac's end.
    roof_v = np.where(roof_s < anatomy.sac.s_end, roof_v - 0.12 * (anatomy.sac.s_end - roof_s), roof_v)
    return _Tables(
        vert_mid=np.array([v.s_mid for v in vs], _F),
        vert_height=np.array([v.height for v in vs], _F),
        vert_hw=np.array([v.half_width for v in vs], _F),
        vert_depth=np.array([v.depth for v in vs], _F),
        vert_cw=np.array([v.canal_half_width for v in vs], _F),
        vert_pw=np.array([v.pedicle_width for v in vs], _F),
        vert_tp=np.array([v.transverse_length for v in vs], _F),
        vert_sp=np.array([v.spinous_length for v in vs], _F),
        vert_marrow=np.array([v.marrow_t2 for v in vs], _F),
        vert_label=np.array([int(v.label) for v in vs], np.uint8),
        disc_low=np.array([d.s_low for d in ds], _F),
        disc_high=np.array([d.s_high for d in ds], _F),
        disc_mid=np.array([d.s_mid for d in ds], _F),
        disc_slope=np.array([d.wedge_slope for d in ds], _F),
        disc_nucleus=np.array([d.nucleus_t2 for d in ds], _F),
        disc_bulge=np.array([d.bulge_mm for d in ds], _F),
        disc_bulge_u=np.array([d.bulge_centre_u for d in ds], _F),
        disc_bulge_w=np.array([d.bulge_half_width for d in ds], _F),
        disc_label=np.array([int(d.label) for d in ds], np.uint8),
        disc_cleft=np.array([1.0 if d.pfirrmann >= 2 else 0.0 for d in ds], _F),
        lf_extra=np.array([p.lf_thickness_mm - lf_base for p in ps], _F),
        lf_sigma=np.array([sigma.get(d.name, 5.0) * 1.2 for d in ds], _F),
        facet_r=np.array([p.facet_radius_mm for p in ps], _F),
        facet_cos=np.array([np.cos(p.facet_angle_rad) for p in ps], _F),
        facet_sin=np.array([np.sin(p.facet_angle_rad) for p in ps], _F),
        facet_gap=np.array([p.joint_gap_mm for p in ps], _F),
        roof_s=roof_s.astype(_F),
        roof_v=roof_v.astype(_F),
        lf_base=float(lf_base),
    )


_TABLE_CACHE: dict[int, _Tables] = {}


def tables_for(anatomy: Anatomy) -> _Tables:
    key = id(anatomy)
    if key not in _TABLE_CACHE:
        _TABLE_CACHE.clear()
        _TABLE_CACHE[key] = _tables(anatomy)
    return _TABLE_CACHE[key]


def evaluate(anatomy: Anatomy, points_lps: np.ndarray) -> FieldSamples:
    """Label and signal of the anatomy at points (n, 3) in LPS mm."""
    pts = np.asarray(points_lps, dtype=_F)
    s, u, v = anatomy.frame.to_local(pts)
    return evaluate_local(anatomy, s, u, v, pts[:, 1])


def evaluate_local(
    anatomy: Anatomy, s: np.ndarray, u: np.ndarray, v: np.ndarray, y: np.ndarray
) -> FieldSamples:
    """As `evaluate`, from local coordinates (s, u, v) and the LPS y (for the table plane)."""
    tb = tables_for(anatomy)
    n = s.shape[0]
    canvas = _Canvas.empty(n)
    hab = anatomy.habitus
    au = np.abs(u)

    # ---- trunk outline -----------------------------------------------------------------------
    v_front = _F(-hab.abdomen_depth)
    v_far = _F(200.0)
    vt = (v_front + v_far) / 2
    dt = (v_far - v_front) / 2
    width = _F(hab.torso_half_width) * (1 + _F(0.05) * np.tanh(-s / _F(80.0)))
    inside = _superellipse(au, v - vt, width, dt) & (y < _F(hab.table_y))
    body = np.flatnonzero(inside)
    if body.size == 0:
        return FieldSamples(canvas.label, canvas.t2, canvas.t1)
    sb, ub, vb, aub, yb, wb = s[body], u[body], v[body], au[body], y[body], width[body]
    cb = canvas.take(body)
    cb.paint(np.ones(body.size, bool), Label.SKIN, Tissue.SKIN)
    fat_t = _F(hab.flank_fat_mm)
    below_skin = _superellipse(aub, vb - vt, wb - 2.5, dt - 2.5) & (yb < _F(hab.table_y - 2.5))
    cb.paint(below_skin, Label.SUBCUTANEOUS_FAT, Tissue.FAT)
    depth_at = np.interp(sb, tb.vert_mid, tb.vert_depth).astype(_F)
    # peritoneal cavity: an ellipse in front of the spine inside a 12 mm muscular wall; the
    # flanks outside the wall are fat, the space around psoas and kidneys retroperitoneal fat
    cav_v = -depth_at - 35.0
    cav_b = np.maximum(cav_v - (v_front + fat_t + 12.0), 30.0)
    cav_a = np.maximum(wb - fat_t - 14.0, 60.0)
    dvc = vb - cav_v
    cavity = _ellipse(aub, dvc, cav_a, cav_b)
    wall = _ellipse(aub, dvc, cav_a + 12.0, cav_b + 12.0) & ~cavity
    cb.paint(wall & below_skin, Label.ABDOMEN, Tissue.MUSCLE)
    peritoneum = np.minimum(-depth_at - 3.0 + 1.1 * np.maximum(aub - 18.0, 0.0), 15.0)
    cb.paint(cavity & (vb >= peritoneum), Label.RETROPERITONEAL_FAT, Tissue.FAT)
    cb.paint(cavity & (vb < peritoneum), Label.ABDOMEN, Tissue.BOWEL)
    _paint_posterior_muscles(anatomy, tb, cb, sb, ub, vb, aub, yb)
    _paint_anterior_soft_tissue(anatomy, tb, cb, sb, ub, vb, aub, depth_at)

    # ---- spine core -------------------------------------------------------------------------
    roof0 = np.interp(sb, tb.roof_s, tb.roof_v).astype(_F)
    core = (aub < 75.0) & (vb > -depth_at - 6.0) & (vb < roof0 + 48.0)
    ci = np.flatnonzero(core)
    if ci.size:
        cc = cb.take(ci)
        _paint_spine(anatomy, tb, cc, sb[ci], ub[ci], vb[ci], aub[ci], roof0[ci], depth_at[ci])
        cb.put(ci, cc)
    _apply_texture(anatomy, cb, sb, ub, vb)
    canvas.put(body, cb)
    return FieldSamples(canvas.label, canvas.t2, canvas.t1)


def _superellipse(
    au: np.ndarray, dv: np.ndarray, a: np.ndarray | float, b: np.ndarray | np.floating | float
) -> np.ndarray:
    """|u/a|^2.4 + |dv/b|^2.4 < 1 (au = |u|)."""
    x = au / a
    z = np.abs(dv) / b
    return x * x * np.sqrt(x) + z * z * np.sqrt(z) < 1.0


def _ellipse(du: np.ndarray, dv: np.ndarray, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    x = du / a
    z = dv / b
    return x * x + z * z < 1.0


def _paint_posterior_muscles(
    anatomy: Anatomy,
    tb: _Tables,
    cb: _Canvas,
    s: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    au: np.ndarray,
    y: np.ndarray,
) -> None:
    """Erector spinae and multifidus behind the transverse processes; gluteal muscles below."""
    hab = anatomy.habitus
    roof0 = np.interp(s, tb.roof_s, tb.roof_v).astype(_F)
    thickness = _F(hab.back_muscle_mm) * np.clip((s - tb.vert_mid[0] + 40.0) / 70.0, 0.25, 1.0)
    width = _F(hab.back_muscle_mm * 1.0) * np.clip((s - tb.vert_mid[0] + 60.0) / 80.0, 0.5, 1.05)
    t_lam = _F(anatomy.lamina_thickness_mm)
    sp_tip = roof0 + t_lam + np.interp(s, tb.vert_mid, tb.vert_sp).astype(_F)
    centre_v = roof0 + t_lam + 0.42 * thickness
    half_back = roof0 + t_lam + thickness - centre_v
    half_front = np.maximum(centre_v - 4.0, 4.0)
    dv = v - centre_v
    half = np.where(dv > 0, half_back, half_front)
    x = (au - 0.8 * width) / width
    z = dv / half
    # up to the spinous processes; a thin midline fat furrow behind their tips
    medial = (au > 1.0) & ((v < sp_tip) | (au > 1.8))
    below_table = y < _F(hab.table_y - 6.0)
    muscle = (x * x + z * z < 1.0) & medial & below_table
    muscle |= medial & below_table & (au < 0.8 * width) & (z * z < 1.0) & (v > 4.0)
    cb.paint(muscle, Label.PARASPINAL_MUSCLE, Tissue.MUSCLE)
    # fat plane between multifidus (medial) and the erector spinae
    mx = (au - 0.3 * width) / (0.45 * width)
    mz = (v - (roof0 + t_lam + 0.3 * thickness)) / (0.42 * thickness + 6.0)
    rim = (np.abs(np.sqrt(mx * mx + mz * mz) - 1.0) < 0.03) & (mx > 0.2) & (mz > -0.6)
    cb.paint(muscle & rim & (v > roof0), Label.PARASPINAL_MUSCLE, Tissue.FAT, t2=0.38, t1=0.55)
    below = s < tb.vert_mid[0] - 5.0
    glute = below & _ellipse(au - 75.0, v - (roof0 + 10.0), 60.0, 55.0) & (au > 18.0)
    glute &= y < _F(hab.table_y - 8.0)
    cb.paint(glute, Label.GLUTEAL_MUSCLE, Tissue.MUSCLE)


def _paint_anterior_soft_tissue(
    anatomy: Anatomy,
    tb: _Tables,
    cb: _Canvas,
    s: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    au: np.ndarray,
    depth: np.ndarray,
) -> None:
    """Kidneys, quadratus lumborum, psoas and the great vessels."""
    hab = anatomy.habitus
    hw = np.interp(s, tb.vert_mid, tb.vert_hw).astype(_F)
    l1l2 = float(tb.disc_mid[4])
    s_kidney = np.where(u > 0, _F(l1l2 + 22.0), _F(l1l2 + 8.0))
    kx, ky, kz = (au - 74.0) / 24.0, (v + 4.0) / 30.0, (s - s_kidney) / 55.0
    kr = kx * kx + ky * ky + kz * kz
    cb.paint(kr < 1.0, Label.KIDNEY, Tissue.KIDNEY)
    sinus = (kr < 0.35) & (au < 74.0)
    cb.paint(sinus, Label.KIDNEY, Tissue.FAT, t2=0.62, t1=0.7)
    ql_u = np.interp(s, tb.vert_mid, tb.vert_cw + tb.vert_pw + tb.vert_tp).astype(_F) + 6.0
    ql_on = (s < tb.vert_mid[5] + 10.0) & (s > tb.vert_mid[1] - 5.0)
    cb.paint(ql_on & _ellipse(au - ql_u, v - 7.0, 13.0, 9.0), Label.QUADRATUS_LUMBORUM, Tissue.MUSCLE)
    top = float(tb.vert_mid[6])
    bottom = float(tb.disc_mid[0])
    grow = np.clip((top - s) / (top - bottom), 0.15, 1.0)
    radius = _F(hab.psoas_max_radius) * np.sqrt(grow)
    pelvis = np.maximum(-s, 0.0)
    pu = hw + radius * 0.7 + 0.35 * pelvis
    pv = -depth * 0.5 - 0.15 * radius - 0.7 * pelvis
    cb.paint(_ellipse(au - pu, v - pv, radius, radius * 0.85), Label.PSOAS, Tissue.MUSCLE)
    # great vessels: aorta to the left, IVC to the right, iliac vessels below the bifurcation
    bif = float(tb.vert_mid[2])
    ra = _F(hab.aorta_radius)
    above = s > bif
    aorta_u = np.where(above, 0.45 * hw, 0.45 * hw + 0.5 * (bif - s))
    artery_r = np.where(above, ra, 0.62 * ra)
    artery = (above & _ellipse(u - aorta_u, v - (-depth - ra - 2.0), artery_r, artery_r)) | (
        ~above & _ellipse(au - aorta_u, v - (-depth - 0.62 * ra - 4.0), artery_r, artery_r)
    )
    vbif = bif - 12.0
    vein_above = s > vbif
    vein_u = np.where(vein_above, -0.6 * hw, 0.5 * hw + 0.45 * (vbif - s))
    vein = (vein_above & _ellipse(u - vein_u, v - (-depth - 9.0), 11.0, 7.5)) | (
        ~vein_above & _ellipse(au - vein_u, v - (-depth - 3.0), 7.0, 6.0)
    )
    cb.paint(artery | vein, Label.GREAT_VESSELS, Tissue.FLOW_VOID)


def _paint_spine(
    anatomy: Anatomy,
    tb: _Tables,
    c: _Canvas,
    s: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    au: np.ndarray,
    roof0: np.ndarray,
    depth: np.ndarray,
) -> None:
    """Canal, ligaments, roots, discs, posterior elements, bodies and the dural sac."""
    sac = anatomy.sac
    n_discs = len(tb.disc_mid)
    kd = np.clip(np.searchsorted(tb.vert_mid[1:], s), 0, n_discs - 1)  # nearest disc
    jb = np.searchsorted(tb.disc_mid, s)  # the body this s falls in (0 = sacrum)
    cw = np.interp(s, tb.vert_mid, tb.vert_cw).astype(_F)
    roof = roof0 - _F(anatomy.laminar_slope) * au
    _, b_sac = sac.base_axes(s)
    centre_v = _F(sac.centre_v)

    # canal contents (epidural fat) and foramina
    canal = (au < cw) & (v > -3.0) & (v < roof)
    posterior_fat = canal & (v > centre_v + 0.3 * b_sac)
    c.paint(canal & ~posterior_fat, Label.EPIDURAL_FAT, Tissue.FAT)
    c.paint(posterior_fat, Label.POSTERIOR_EPIDURAL_FAT, Tissue.FAT)
    pw = tb.vert_pw.take(kd)
    fx = (au - cw) / (pw + 9.0)
    fz = (v - 3.5) / 8.5
    foramen = (au >= cw) & (fx * fx + fz * fz < 1.0) & (s > tb.vert_mid[0])
    c.paint(foramen, Label.FORAMINAL_FAT, Tissue.FAT)

    # interspinous ligament and ligamentum flavum
    t_lam = _F(anatomy.lamina_thickness_mm)
    sp_len = np.interp(s, tb.vert_mid, tb.vert_sp).astype(_F)
    interspinous = (au < 2.5) & (v > roof0 + t_lam - 1.0) & (v < roof0 + t_lam + sp_len * 0.85)
    c.paint(interspinous & (s > tb.vert_mid[0]), Label.INTERSPINOUS_LIGAMENT, Tissue.LIGAMENT, t2=0.2, t1=0.3)
    ds = s - tb.disc_mid.take(kd)
    half_h = 0.5 * (tb.disc_high.take(kd) - tb.disc_low.take(kd))
    w_lf = np.exp(-0.5 * (ds / tb.lf_sigma.take(kd)) ** 2)
    t_lf = _F(tb.lf_base) + tb.lf_extra.take(kd) * w_lf
    lf_window = (ds > -(half_h + 7.0)) & (ds < half_h + 14.0)
    lf = (
        lf_window
        & (au < cw + 2.0)
        & (v < roof)
        & (v > roof - t_lf)
        & (v > centre_v)
        & (s > tb.vert_mid[0] - 6)
    )
    c.paint(lf, Label.LIGAMENTUM_FLAVUM, Tissue.LIGAMENT)

    # exiting nerve roots
    root_zone = (au > 4.0) & (v > -45.0) & (v < 16.0)
    rz = np.flatnonzero(root_zone)
    if rz.size:
        hit = sac.rootlet_mask(s[rz], u[rz], v[rz], inside=False)
        mask = np.zeros(s.shape, bool)
        mask[rz[hit]] = True
        c.paint(mask, Label.NERVE_ROOT, Tissue.NERVE)

    # discs and bodies lie in front of the sac centre, the posterior elements behind the bodies
    front = np.flatnonzero(v < centre_v + 1.0)
    fc = c.take(front)
    fs, fu, fv, fau, fjb = s[front], u[front], v[front], au[front], jb[front]
    _paint_discs(tb, fc, fs, fu, fv, fau, kd[front], centre_v)
    c.put(front, fc)
    back = np.flatnonzero(v > -4.0)
    bc = c.take(back)
    _paint_posterior_elements(
        anatomy, tb, bc, s[back], v[back], au[back], kd[back], cw[back], roof0[back], roof[back]
    )
    c.put(back, bc)
    fc = c.take(front)
    _paint_bodies(tb, fc, fs, fu, fv, fau, fjb)
    c.put(front, fc)

    # dural sac: CSF, then rootlets, then the conus
    a_max = float(sac.knots_a.max()) + 0.5
    b_max = float(sac.knots_b.max()) + 0.5
    cand = np.flatnonzero((au < a_max) & (np.abs(v - centre_v) < b_max) & (s > sac.s_end))
    if cand.size:
        sc, uc, vc = s[cand], u[cand], v[cand]
        inside = sac.normalized_radius(sc, uc, vc) < 1.0
        idx = cand[inside]
        sc, uc, vc = sc[inside], uc[inside], vc[inside]
        sub = c.take(idx)
        everywhere = np.ones(idx.size, bool)
        sub.paint(everywhere, Label.CSF, Tissue.CSF)
        sub.paint(sac.rootlet_mask(sc, uc, vc, inside=True), Label.CAUDA_EQUINA, Tissue.ROOTLET)
        grain = sac.grain_weight(sc)
        crowded = np.flatnonzero(grain > 0.25)
        if crowded.size:
            # fine rootlets elongated along the canal: a grainy mix of roots and CSF
            n = anatomy.texture.sample(sc[crowded], uc[crowded] * 4.5, vc[crowded] * 4.5, 4.0, octaves=1)
            fine = np.zeros(idx.size, bool)
            fine[crowded[n > 0.1 + 1.6 * (1.0 - grain[crowded])]] = True
            sub.paint(fine, Label.CAUDA_EQUINA, Tissue.ROOTLET)
        sub.paint(sac.clumped_mask(sc), Label.CAUDA_EQUINA, Tissue.ROOTLET)
        sub.paint(sac.cord_mask(sc, uc, vc), Label.SPINAL_CORD, Tissue.CORD)
        c.put(idx, sub)


def _body_radius(au: np.ndarray, v: np.ndarray, hw: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Ellipse-normalised radius of the (kidney-shaped) vertebral cross-section; the posterior
    margin is concave in the midline (reference v = 0 there) and 2 mm further back laterally."""
    concave = 2.0 * np.clip(1.0 - (au / (0.55 * hw)) ** 2, 0.0, 1.0)
    half_d = 0.5 * depth
    dv = (v + concave - (2.0 - half_d)) / half_d
    x = au / hw
    return np.sqrt(x * x + dv * dv)


def _paint_discs(
    tb: _Tables,
    c: _Canvas,
    s: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    au: np.ndarray,
    kd: np.ndarray,
    centre_v: np.float32,
) -> None:
    low = tb.disc_low.take(kd) + tb.disc_slope.take(kd) * v
    high = tb.disc_high.take(kd) - tb.disc_slope.take(kd) * v
    hw = 0.5 * (tb.vert_hw.take(kd) + tb.vert_hw.take(kd + 1)) * 1.02
    dep = 0.5 * (tb.vert_depth.take(kd) + tb.vert_depth.take(kd + 1))
    r = _body_radius(au, v, hw, dep)
    concavity = 1.6 * np.clip(1.0 - r * r, 0.0, 1.0)
    mid = 0.5 * (low + high)
    half = np.maximum(0.5 * (high - low), 0.5)
    sigma = (s - mid) / half
    ring = 0.05 * np.clip(1.0 - sigma * sigma, 0.0, 1.0)
    in_slab = (s > low - concavity) & (s < high + concavity)
    disc = in_slab & (r < 1.0 + ring)
    # posterior bulge or protrusion into the canal, wrapping the (later painted) sac
    lateral = (u - tb.disc_bulge_u.take(kd)) / tb.disc_bulge_w.take(kd)
    profile = np.sqrt(np.clip(1.0 - lateral * lateral, 0.0, 1.0))
    reach = tb.disc_bulge.take(kd) * profile * np.sqrt(np.clip(1.0 - sigma * sigma, 0.0, 1.0))
    bulge = (np.abs(sigma) < 1.0) & (v > -3.0) & (v < reach) & (v < centre_v) & (au < 0.95 * hw)
    disc |= bulge
    rn2 = (r / 0.7) ** 2 + (sigma / 0.78) ** 2
    nucleus = tb.disc_nucleus.take(kd)
    annulus = TISSUE_SIGNAL[Tissue.ANNULUS]
    weight = np.clip(1.4 * (1.0 - rn2), 0.0, 1.0)
    weight *= 1.0 - 0.2 * tb.disc_cleft.take(kd) * np.exp(-((sigma / 0.1) ** 2))
    t2 = annulus[0] + (nucleus - annulus[0]) * weight
    t1 = annulus[1] + (TISSUE_SIGNAL[Tissue.NUCLEUS, 1] - annulus[1]) * weight
    c.label[disc] = tb.disc_label.take(kd)[disc]
    c.t2[disc] = t2[disc]
    c.t1[disc] = t1[disc]


def _paint_posterior_elements(
    anatomy: Anatomy,
    tb: _Tables,
    c: _Canvas,
    s: np.ndarray,
    v: np.ndarray,
    au: np.ndarray,
    kd: np.ndarray,
    cw: np.ndarray,
    roof0: np.ndarray,
    roof: np.ndarray,
) -> None:
    """Pedicles, laminae, spinous and transverse processes, facets: marrow inside a dark
    cortical rim about 1.2 mm thick."""
    t_lam = _F(anatomy.lamina_thickness_mm)
    lumbar = s > tb.vert_mid[0] + 4.0
    # pedicles of the body below the nearest disc, in that body's upper part
    ped_s = tb.disc_low.take(kd) - 0.3 * tb.vert_height.take(kd)
    ped_u = tb.vert_cw.take(kd) + 0.5 * tb.vert_pw.take(kd)
    ped_half = 0.5 * tb.vert_pw.take(kd)
    q = ((au - ped_u) / ped_half) ** 2 + ((v - 4.5) / 7.5) ** 2 + ((s - ped_s) / 6.5) ** 2
    bone = q < 1.0
    cortex = q > 0.72
    # laminae: from the pedicle down to the disc below
    lam_top = tb.disc_low - 0.3 * tb.vert_height[: len(tb.disc_low)] + 5.0
    lam_bottom = np.concatenate([[tb.vert_mid[0] - 40.0], tb.disc_mid[:-1] + 1.0])
    j = np.clip(np.searchsorted(lam_bottom, s) - 1, 0, len(lam_top) - 1)
    in_lamina = (s > lam_bottom.take(j)) & (s < lam_top.take(j))
    lamina = in_lamina & (au < cw + 4.0) & (v >= roof) & (v < roof + t_lam)
    bone |= lamina
    cortex |= lamina & ((v - roof < 0.9) | (roof + t_lam - v < 0.9))
    # spinous process of the nearest body, sloping caudally
    jn = np.clip(np.searchsorted(0.5 * (tb.vert_mid[1:] + tb.vert_mid[:-1]), s), 0, len(tb.vert_mid) - 1)
    v0 = roof0 + t_lam - 1.0
    along = v - v0
    sp_len = tb.vert_sp.take(jn)
    sp_s = tb.vert_mid.take(jn) - 2.0 - 0.25 * along
    half_h = 0.36 * tb.vert_height.take(jn) * (1.0 - 0.2 * np.clip(along / sp_len, 0, 1))
    metric = (along / sp_len) ** 4 + ((s - sp_s) / half_h) ** 4
    thick = 2.6 + 0.08 * along
    spinous = (along > 0) & (metric < 1.0) & (au < thick) & lumbar
    bone |= spinous
    cortex |= spinous & ((metric > 0.8) | (au > thick - 0.9))
    # transverse processes: thin, mostly cortex
    tp_in = tb.vert_cw.take(jn) + tb.vert_pw.take(jn) - 2.0
    tp_len = tb.vert_tp.take(jn)
    tp_s = tb.vert_mid.take(jn) + 3.0
    tip = np.clip((au - tp_in) / np.maximum(tp_len, 1.0), 0.0, 1.0)
    tp = (
        (au > tp_in)
        & (au < tp_in + tp_len)
        & (np.abs(s - tp_s) < 4.5 * (1 - 0.4 * tip))
        & (np.abs(v - 7.0) < 4.0 * (1 - 0.3 * tip))
        & (tp_len > 1.0)
    )
    bone |= tp
    cortex |= tp & ((np.abs(v - 7.0) > 2.6 * (1 - 0.3 * tip)) | (tip > 0.85))
    # facet joints at each disc: articular processes split by the joint line
    f_s = tb.disc_mid.take(kd) + 3.0
    f_u = cw + 3.5
    f_v = (roof0 - _F(anatomy.laminar_slope) * f_u) + 3.0
    fr = tb.facet_r.take(kd)
    height = np.clip(1.0 - ((s - f_s) / 11.0) ** 2, 0.0, 1.0)
    du, dv = au - f_u, v - f_v
    r2 = du * du + dv * dv
    facet = r2 < fr * fr * height
    across = du * tb.facet_cos.take(kd) - dv * tb.facet_sin.take(kd)
    gap = 0.5 * tb.facet_gap.take(kd)
    joint = facet & (np.abs(across) < gap)
    bone |= facet & ~joint
    rim = np.maximum(fr * np.sqrt(height) - 1.0, 0.0)
    cortex |= facet & ((r2 > rim * rim) | (np.abs(across) < gap + 0.6))
    bone &= lumbar
    c.paint(bone & ~cortex, Label.POSTERIOR_ELEMENTS, Tissue.POSTERIOR_BONE)
    c.paint(bone & cortex, Label.POSTERIOR_ELEMENTS, Tissue.CORTEX)
    c.paint(joint & lumbar, Label.FACET_JOINT, Tissue.JOINT_FLUID)
    # sacrum: alae beside S1 and the dorsal wall of the sacral canal
    sacral = s < tb.vert_mid[0] + 12.0
    hw0 = float(tb.vert_hw[0])
    taper = np.clip((s - (tb.vert_mid[0] - 45.0)) / 40.0, 0.0, 1.0)
    ala = sacral & (au > hw0 - 6.0) & (au < hw0 + 30.0 * taper) & (v > -tb.vert_depth[0] + 8.0) & (v < 10.0)
    ala &= s < tb.disc_low[0] - 3.0
    dorsal = sacral & (s < tb.disc_low[0] - 2.0) & (au < cw + 3.0) & (v >= roof) & (v < roof + t_lam + 2.0)
    crest = sacral & (s < tb.disc_low[0] - 6.0) & (au < 3.0) & (v >= roof) & (v < roof + t_lam + 9.0)
    c.paint(ala | dorsal | crest, Label.SACRUM, Tissue.POSTERIOR_BONE)


def _paint_bodies(
    tb: _Tables, c: _Canvas, s: np.ndarray, u: np.ndarray, v: np.ndarray, au: np.ndarray, jb: np.ndarray
) -> None:
    n_discs = len(tb.disc_mid)
    below = np.clip(jb - 1, 0, n_discs - 1)
    above = np.clip(jb, 0, n_discs - 1)
    hw = tb.vert_hw.take(jb)
    depth = tb.vert_depth.take(jb)
    sacrum = jb == 0
    # the sacrum tapers caudally
    taper = np.where(sacrum, np.clip(1.0 - (tb.disc_low[0] - s) / 150.0, 0.3, 1.0), 1.0).astype(_F)
    hw = hw * taper
    depth = depth * taper
    r = _body_radius(au, v, hw, depth)
    concavity = 1.6 * np.clip(1.0 - r * r, 0.0, 1.0)
    s_inf = np.where(
        sacrum, _F(tb.vert_mid[0] - 90.0), tb.disc_high.take(below) - tb.disc_slope.take(below) * v
    )
    s_sup = tb.disc_low.take(above) + tb.disc_slope.take(above) * v
    s_inf = s_inf + concavity
    s_sup = s_sup - concavity
    span = np.maximum(s_sup - s_inf, 1.0)
    sig = (2 * s - s_inf - s_sup) / span
    waist = 1.0 - 0.05 * np.clip(1.0 - sig * sig, 0.0, 1.0)
    rr = r / waist
    s10 = sig**10
    inside = (rr * rr + s10 < 1.0) & (jb < len(tb.vert_mid))
    cortex = inside & ((rr > 1.0 - 1.3 / np.minimum(hw, 0.5 * depth)) | (s - s_inf < 1.1) | (s_sup - s < 1.1))
    lab = tb.vert_label.take(np.clip(jb, 0, len(tb.vert_label) - 1))
    marrow = tb.vert_marrow.take(np.clip(jb, 0, len(tb.vert_label) - 1))
    # basivertebral venous channel: a small posterior notch at mid-height
    vein = inside & (au < 1.8) & (v > -4.0) & (np.abs(sig) < 0.12) & ~sacrum
    c.label[inside] = lab[inside]
    c.t2[inside] = (TISSUE_SIGNAL[Tissue.MARROW, 0] * marrow)[inside]
    c.t1[inside] = (TISSUE_SIGNAL[Tissue.MARROW, 1] * marrow)[inside]
    c.t2[cortex] = TISSUE_SIGNAL[Tissue.CORTEX, 0]
    c.t1[cortex] = TISSUE_SIGNAL[Tissue.CORTEX, 1]
    c.t2[vein] = TISSUE_SIGNAL[Tissue.FAT, 0]
    c.t1[vein] = TISSUE_SIGNAL[Tissue.MARROW, 1]


def _apply_texture(anatomy: Anatomy, c: _Canvas, s: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """Marrow heterogeneity, fatty streaks in muscle and bowel contents from a smooth 3D field."""
    lab = c.label
    marrow = (lab >= Label.VERTEBRA_T12) & (lab <= Label.VERTEBRA_THORACIC) & (c.t2 > 0.2)
    muscle = (lab == Label.PARASPINAL_MUSCLE) | (lab == Label.PSOAS) | (lab == Label.GLUTEAL_MUSCLE)
    bowel = lab == Label.ABDOMEN
    tex = anatomy.texture
    idx = np.flatnonzero(marrow)
    if idx.size:
        n = tex.sample(s[idx] * 1.6, u[idx] * 1.6, v[idx] * 1.6)
        c.t2[idx] *= 1 + _F(0.15) * n
        c.t1[idx] *= 1 + _F(0.12) * n
    idx = np.flatnonzero(muscle)
    if idx.size:
        # fascial planes and fatty streaks: near-zero level sets of smooth noise, elongated
        # along the fibres (s), form a network of thin curved lines
        coarse = tex.sample(s[idx], u[idx] * 0.8, v[idx] * 0.8, 4.0, octaves=1)
        fine = tex.sample(s[idx] + 50.0, u[idx] * 3.0, v[idx] * 3.0, 6.0, octaves=1)
        width = _F(0.02 + 0.12 * anatomy.habitus.muscle_fat_fraction)
        streak = (np.abs(coarse) < width) | (fine > 2.4 - 2.0 * anatomy.habitus.muscle_fat_fraction)
        gain = 1 + _F(0.07) * fine
        c.t2[idx] = np.where(streak, TISSUE_SIGNAL[Tissue.FAT, 0] * 0.55, c.t2[idx] * gain)
        c.t1[idx] = np.where(streak, TISSUE_SIGNAL[Tissue.FAT, 1] * 0.6, c.t1[idx] * gain)
    idx = np.flatnonzero(bowel & (c.t2 == TISSUE_SIGNAL[Tissue.BOWEL, 0]))
    if idx.size:
        n = tex.sample(s[idx] * 1.5, u[idx] * 1.5, v[idx] * 1.5, octaves=1)
        c.t2[idx] = np.clip(0.24 + 0.09 * n, 0.05, 0.6)
        c.t1[idx] = np.clip(0.3 + 0.05 * n, 0.1, 0.5)
        gas = n > 2.3
        fluid = n < -2.1
        c.t2[idx[gas]] = 0.03
        c.t1[idx[gas]] = 0.03
        c.t2[idx[fluid]] = 0.7
        c.t1[idx[fluid]] = 0.15

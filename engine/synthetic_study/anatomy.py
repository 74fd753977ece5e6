"""A seeded analytic model of the lumbar spine and trunk in local spine coordinates.

All lengths are millimetres in the (s, u, v) frame of `spine_frame`: s along the spine
(cranial +, s = 0 at the posterior corner of the S1 superior endplate), u to the patient's left,
v posterior from the posterior margin of the vertebral bodies. Bodies and discs follow each other
along s; the endplates bounding each disc are tilted by half its wedge angle so that most of the
lordosis lives in the discs, as in real spines, while each disc's mid-plane stays perpendicular
to the canal (its normal is the frame tangent at the disc centre).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

from engine.findings import DISC_LEVELS, SchizasGrade
from engine.synthetic_study.dural_sac import (
    DuralSac,
    LevelCompression,
    RootPlan,
    solve_compression,
    tabulate_roots,
)
from engine.synthetic_study.grades import DSCA_RANGE_MM2
from engine.synthetic_study.labels import Label
from engine.synthetic_study.spine_frame import SpineCurveShape, SpineFrame, build_spine_frame

# Caudal to cranial. Base posterior heights, half-widths, depths (mm) of an average adult.
_VERTEBRAE = (
    # name, label, height, half_width, depth, canal_half_width, pedicle_width, transverse, spinous
    ("S1", Label.SACRUM, 28.0, 27.0, 32.0, 13.0, 11.0, 0.0, 16.0),
    ("L5", Label.VERTEBRA_L5, 26.0, 27.0, 33.0, 12.5, 9.5, 21.0, 24.0),
    ("L4", Label.VERTEBRA_L4, 27.0, 26.0, 33.0, 12.0, 8.5, 25.0, 29.0),
    ("L3", Label.VERTEBRA_L3, 27.0, 25.0, 32.0, 11.5, 8.0, 29.0, 31.0),
    ("L2", Label.VERTEBRA_L2, 26.5, 24.0, 31.0, 11.0, 7.5, 23.0, 31.0),
    ("L1", Label.VERTEBRA_L1, 25.5, 23.0, 30.0, 10.5, 7.5, 16.0, 30.0),
    ("T12", Label.VERTEBRA_T12, 24.0, 21.5, 29.0, 10.0, 7.0, 8.0, 30.0),
    ("T11", Label.VERTEBRA_THORACIC, 23.0, 20.5, 28.0, 9.5, 7.0, 0.0, 30.0),
    ("T10", Label.VERTEBRA_THORACIC, 22.0, 20.0, 27.0, 9.0, 7.0, 0.0, 30.0),
    ("T9", Label.VERTEBRA_THORACIC, 21.5, 19.5, 26.5, 9.0, 7.0, 0.0, 30.0),
)
# Caudal to cranial: name, label, posterior height (mm), extra wedge angle (deg at 45 deg lordosis).
_DISCS = (
    ("L5-S1", Label.DISC_L5_S1, 7.5, 9.0),
    ("L4-L5", Label.DISC_L4_L5, 8.0, 7.0),
    ("L3-L4", Label.DISC_L3_L4, 8.0, 5.0),
    ("L2-L3", Label.DISC_L2_L3, 7.5, 4.0),
    ("L1-L2", Label.DISC_L1_L2, 7.0, 3.0),
    ("T12-L1", Label.DISC_T12_L1, 6.0, 2.0),
    ("T11-T12", Label.DISC_THORACIC, 5.5, 0.0),
    ("T10-T11", Label.DISC_THORACIC, 5.0, 0.0),
    ("T9-T10", Label.DISC_THORACIC, 5.0, 0.0),
)
_PFIRRMANN_NUCLEUS_T2 = {1: 0.88, 2: 0.78, 3: 0.55, 4: 0.32, 5: 0.2}
_PFIRRMANN_HEIGHT = {1: 1.0, 2: 1.0, 3: 0.92, 4: 0.78, 5: 0.6}
# Roots in the sac: one pair exits at each lumbar level (the L1 pair at L1-L2 ... the L5 pair at
# L5-S1); five sacral pairs stay in the sac down to its tip.
_SACRAL_ROOT_PAIRS = 5


@dataclass(frozen=True)
class VertebraShape:
    """One vertebral body with its posterior arch (mm, local frame)."""

    name: str
    label: Label
    s_mid: float  # mid-height of the body at the posterior margin
    height: float
    half_width: float  # lateral semi-axis of the body
    depth: float  # antero-posterior depth of the body
    canal_half_width: float  # medial border of the pedicles
    pedicle_width: float
    transverse_length: float
    spinous_length: float
    marrow_t2: float  # relative marrow signal (fatty marrow brighter)
    marrow_t1: float


@dataclass(frozen=True)
class DiscShape:
    """One intervertebral disc; s_low/s_high are its bounds at the posterior margin (v = 0)."""

    name: str
    label: Label
    s_low: float
    s_high: float
    wedge_slope: float  # tan(half the extra wedge angle): endplates tilt by this per mm of v
    pfirrmann: int
    nucleus_t2: float
    bulge_mm: float  # posterior reach into the canal in the midline beyond the body margin
    bulge_centre_u: float  # lateral centre of the bulge (0 central; +-: paracentral left/right)
    bulge_half_width: float
    morphology: str  # "none", "bulge", "diffuse bulge", "broad-based protrusion", "protrusion"

    @property
    def s_mid(self) -> float:
        return 0.5 * (self.s_low + self.s_high)

    @property
    def height(self) -> float:
        return self.s_high - self.s_low


@dataclass(frozen=True)
class PosteriorLevel:
    """Ligamentum flavum and facet joints at one disc level."""

    s_centre: float
    lf_thickness_mm: float  # thickness at the disc, hypertrophied at stenotic levels
    facet_radius_mm: float
    facet_angle_rad: float  # joint line angle from the sagittal plane
    joint_gap_mm: float  # cartilage + fluid; wider with effusion


@dataclass(frozen=True)
class Habitus:
    """Trunk outline and soft tissues."""

    torso_half_width: float
    abdomen_depth: float  # anterior skin, mm anterior of the vertebral bodies' posterior margin
    table_y: float  # LPS y of the table plane the back rests on
    flank_fat_mm: float
    back_muscle_mm: float  # erector spinae thickness behind the laminae
    psoas_max_radius: float
    aorta_radius: float
    muscle_fat_fraction: float  # fatty streaks in the paraspinal muscles (age)


@dataclass(frozen=True, eq=False)
class Texture:
    """Smooth random field (zero mean, unit-ish std) on a coarse grid over (u, v, s)."""

    grid: np.ndarray = field(repr=False)  # (nu, nv, ns) float32
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    step_mm: float = 4.0

    def sample(
        self, s: np.ndarray, u: np.ndarray, v: np.ndarray, stretch_s: float = 1.0, octaves: int = 2
    ) -> np.ndarray:
        """Trilinear sample (float32, shape of s); stretch_s > 1 elongates features along s;
        the second octave adds detail at 2.3x the frequency. Periodic outside the grid."""
        out = self._trilinear(u, v, s / np.float32(stretch_s))
        if octaves > 1:
            out += 0.5 * self._trilinear(u * 2.3 + 17.0, v * 2.3 + 5.0, s * np.float32(2.3 / stretch_s) + 3.0)
        return out

    def _trilinear(self, u: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
        nu, nv, ns = self.grid.shape
        flat = self.grid.ravel()
        fu = (u - np.float32(self.origin[0])) / np.float32(self.step_mm)
        fv = (v - np.float32(self.origin[1])) / np.float32(self.step_mm)
        fs = (s - np.float32(self.origin[2])) / np.float32(self.step_mm)
        iu, iv, i_s = np.floor(fu), np.floor(fv), np.floor(fs)
        wu, wv, ws = fu - iu, fv - iv, fs - i_s
        iu = iu.astype(np.int32) % (nu - 1)
        iv = iv.astype(np.int32) % (nv - 1)
        i_s = i_s.astype(np.int32) % (ns - 1)
        base = (iu * nv + iv) * ns + i_s
        out = np.zeros(u.shape, np.float32)
        for du in (0, 1):
            w_u = wu if du else 1 - wu
            for dv in (0, 1):
                w_uv = w_u * (wv if dv else 1 - wv)
                off = (du * nv + dv) * ns
                out += w_uv * ((1 - ws) * flat.take(base + off) + ws * flat.take(base + off + 1))
        return out


@dataclass(frozen=True)
class LumbarLevel:
    """Ground truth of one graded disc level."""

    level: str
    grade: SchizasGrade
    disc_index: int  # index into Anatomy.discs
    dural_sac_area_mm2: float
    ap_diameter_mm: float
    posterior_fat_mm: float  # midline posterior epidural fat thickness at the disc (0 for D)


@dataclass(frozen=True, eq=False)
class Anatomy:
    frame: SpineFrame
    vertebrae: tuple[VertebraShape, ...]  # caudal to cranial, vertebrae[0] is the sacrum
    discs: tuple[DiscShape, ...]  # caudal to cranial, discs[j] lies above vertebrae[j]
    posterior_levels: tuple[PosteriorLevel, ...]  # one per disc
    sac: DuralSac
    sac_anterior_gap_mm: float
    habitus: Habitus
    texture: Texture
    levels: tuple[LumbarLevel, ...]  # DISC_LEVELS order (L1-L2 first)
    sex: str  # "M" or "F"
    age_years: int
    lf_base_mm: float  # ligamentum flavum thickness at normal levels
    roof_extra_mm: float  # normal posterior epidural fat thickness in the midline
    laminar_slope: float = 0.55  # the roof of the canal rises by this per mm off the midline
    lamina_thickness_mm: float = 5.5

    def disc(self, level: str) -> DiscShape:
        for d in self.discs:
            if d.name == level:
                return d
        raise KeyError(level)

    def disc_centre_lps(self, level: str) -> np.ndarray:
        """Centre of the disc (mid-height, mid-depth, midline) in LPS mm, shape (3,)."""
        d = self.disc(level)
        j = self.discs.index(d)
        depth = 0.5 * (self.vertebrae[j].depth + self.vertebrae[j + 1].depth)
        return self.frame.to_lps(d.s_mid, 0.0, -0.5 * depth)

    def disc_normal_lps(self, level: str) -> np.ndarray:
        """Unit normal of the disc mid-plane in LPS, pointing cranially, shape (3,)."""
        return self.frame.tangent(self.disc(level).s_mid)

    def canal_point_lps(self, level: str) -> np.ndarray:
        """Centre of the dural sac at the disc, LPS mm, shape (3,)."""
        return self.frame.to_lps(self.disc(level).s_mid, 0.0, self.sac.centre_v)


def build_anatomy(rng: np.random.Generator, grades: tuple[SchizasGrade, ...]) -> Anatomy:
    """Draw a complete anatomy for the given per-level grades (DISC_LEVELS order)."""
    sex = "F" if rng.random() < 0.5 else "M"
    age = int(rng.integers(28, 82))
    scale = float(np.clip(rng.normal(0.95 if sex == "F" else 1.03, 0.04), 0.88, 1.12))
    grade_of = dict(zip(DISC_LEVELS, grades, strict=True))

    # -- discs and vertebrae along s --------------------------------------------------------
    lordosis = float(rng.uniform(28.0, 50.0))
    disc_specs = []
    for name, label, height, wedge in _DISCS:
        grade = grade_of.get(name)
        pf = _draw_pfirrmann(rng, name, grade, age)
        h = height * scale * _PFIRRMANN_HEIGHT[pf] * float(rng.uniform(0.92, 1.08))
        slope = float(np.tan(np.deg2rad(0.5 * wedge * lordosis / 45.0)))
        disc_specs.append((name, label, h, slope, pf))
    s = 0.0
    vertebrae: list[VertebraShape] = []
    discs: list[DiscShape] = []
    s_low_sacrum = -_VERTEBRAE[0][2] * scale
    for j, (name, label, height, hw, depth, cw, pw, tl, sl) in enumerate(_VERTEBRAE):
        jitter = float(rng.uniform(0.95, 1.05))
        if j == 0:
            mid = 0.5 * s_low_sacrum
            body_h = -s_low_sacrum
        else:
            body_h = height * scale * jitter
            mid = s + 0.5 * body_h
            s += body_h
        marrow = float(np.clip(rng.normal(1.0, 0.08) + 0.004 * (age - 50), 0.8, 1.3))
        vertebrae.append(
            VertebraShape(
                name=name,
                label=label,
                s_mid=mid,
                height=body_h,
                half_width=hw * scale * float(rng.uniform(0.96, 1.04)),
                depth=depth * scale * float(rng.uniform(0.96, 1.04)),
                canal_half_width=cw * scale * float(rng.uniform(0.95, 1.05)),
                pedicle_width=pw * scale,
                transverse_length=tl * scale * float(rng.uniform(0.85, 1.1)),
                spinous_length=sl * scale * float(rng.uniform(0.85, 1.1)),
                marrow_t2=marrow,
                marrow_t1=marrow,
            )
        )
        if j < len(disc_specs):
            dname, dlabel, h, slope, pf = disc_specs[j]
            discs.append(_disc_shape(dname, dlabel, s, s + h, slope, pf, grade_of.get(dname), rng))
            s += h

    frame = build_spine_frame(
        SpineCurveShape(
            lordosis_deg=lordosis,
            sacral_slope_deg=float(np.clip(lordosis * 0.75 + rng.normal(0, 4), 25.0, 50.0)),
            lumbar_length_mm=discs[5].s_mid,
            sacral_radius_mm=float(rng.uniform(90.0, 130.0)),
            scoliosis_mm=float(rng.uniform(0.0, 4.0)) * (1 if rng.random() < 0.5 else -1),
            scoliosis_phase=float(rng.uniform(0, 2 * np.pi)),
            origin_lps=(
                float(rng.uniform(-8, 8)),
                float(rng.uniform(-30, 10)),
                float(rng.uniform(-140, -90)),
            ),
        )
    )

    # -- dural sac ----------------------------------------------------------------------------
    sac_scale = float(np.clip(rng.normal(1.0, 0.06), 0.86, 1.16)) * np.sqrt(scale)
    anterior_gap = float(rng.uniform(0.3, 1.0))
    knots_s, knots_a, knots_b = [], [], []
    for v in vertebrae[::-1]:  # cranial first is irrelevant for interp; sort below
        knots_s.append(v.s_mid)
        lumbar_pos = np.clip((v.s_mid - vertebrae[1].s_mid) / (vertebrae[5].s_mid - vertebrae[1].s_mid), 0, 1)
        knots_a.append(sac_scale * (8.2 + 1.0 * lumbar_pos))
        knots_b.append(sac_scale * (6.2 + 0.6 * lumbar_pos))
    order = np.argsort(knots_s)
    b_max = float(np.max(knots_b))
    base = DuralSac(
        knots_s=np.asarray(knots_s)[order],
        knots_a=np.asarray(knots_a)[order],
        knots_b=np.asarray(knots_b)[order],
        centre_v=anterior_gap + b_max,
        s_end=vertebrae[0].s_mid - float(rng.uniform(8.0, 20.0)),
        taper_mm=30.0,
        levels=(),
        conus_top_s=vertebrae[6].s_mid + float(rng.uniform(-5.0, 15.0)),
        conus_tip_s=vertebrae[5].s_mid + float(rng.uniform(-14.0, 8.0)),
        cord_a=4.3 * sac_scale,
        cord_b=3.6 * sac_scale,
    )
    knots_a_arr = base.knots_a.copy()
    knots_b_arr = base.knots_b.copy()
    roots = _plan_roots(rng, discs, sac_scale)
    compressions = []
    targets: dict[str, float] = {}
    for level in DISC_LEVELS:
        d = next(x for x in discs if x.name == level)
        grade = grade_of[level]
        natural = base.area_mm2(d.s_mid)
        lo, hi = DSCA_RANGE_MM2[grade]
        if grade is SchizasGrade.A:
            target = float(np.clip(natural * rng.uniform(0.86, 1.0), lo + 2.0, hi - 5.0))
            if target > natural:  # a small sac widened to a normal one at this level
                k = np.searchsorted(base.knots_s, d.s_mid)
                grow = np.sqrt(target / natural) * 1.02
                for idx in (k - 1, k):
                    knots_a_arr[idx] *= grow
                    knots_b_arr[idx] *= grow
        else:
            target = float(rng.uniform(lo + 1.0, hi - 1.0))
        targets[level] = target
    base = replace(
        base, knots_a=knots_a_arr, knots_b=knots_b_arr, centre_v=anterior_gap + float(knots_b_arr.max())
    )
    for level in DISC_LEVELS:
        d = next(x for x in discs if x.name == level)
        grade = grade_of[level]
        shift = 0.0
        if d.morphology == "protrusion" and d.bulge_centre_u != 0.0:
            shift = 0.45 * float(np.sign(d.bulge_centre_u))
        c = solve_compression(base, d.s_mid, shift, targets[level])
        compressions.append(
            LevelCompression(
                level=level,
                s_centre=d.s_mid,
                sigma_mm=float(rng.uniform(4.5, 6.5)) * (1.0 if grade is SchizasGrade.A else 1.15),
                compression=c,
                lobe_shift_rad=shift,
                fill=0.0 if grade is SchizasGrade.A else 1.0,
                clump={"A": 0.0, "B": 0.15, "C": 5.0, "D": 5.0}[grade.value],
                grainy=grade is SchizasGrade.B,
                homogeneous=grade in (SchizasGrade.C, SchizasGrade.D),
            )
        )
    sac = replace(base, levels=tuple(compressions))

    # -- posterior levels: LF thickness leaves the drawn posterior fat at the disc ------------
    posterior: list[PosteriorLevel] = []
    fat_mm: dict[str, float] = {}
    lf_base = float(rng.uniform(2.4, 3.4)) * scale
    roof_extra = float(rng.uniform(1.8, 3.2))
    for j, d in enumerate(discs):
        grade = grade_of.get(d.name)
        facet_r = 8.0 * scale * float(rng.uniform(0.92, 1.08))
        gap = float(rng.uniform(0.9, 1.4))
        if grade is None:
            lf = lf_base * (0.8 if j > 5 else 1.0)
        else:
            sac_posterior = sac.centre_v + float(sac.radius(d.s_mid, np.array([np.pi / 2]))[0])
            roof = roof_depth(sac, lf_base, roof_extra, d.s_mid)
            want_fat = {
                "A": rng.uniform(1.8, 3.2),
                "B": rng.uniform(1.4, 2.4),
                "C": rng.uniform(1.0, 1.8),
                "D": 0.0,
            }[grade.value]
            lf = max(lf_base, roof - sac_posterior - want_fat) if grade is not SchizasGrade.D else 30.0
            fat_mm[d.name] = max(roof - sac_posterior - lf, 0.0)
            if grade in (SchizasGrade.C, SchizasGrade.D):
                facet_r *= float(rng.uniform(1.15, 1.3))
                gap *= float(rng.uniform(1.2, 1.8))
        posterior.append(
            PosteriorLevel(
                s_centre=d.s_mid,
                lf_thickness_mm=float(lf),
                facet_radius_mm=facet_r,
                facet_angle_rad=float(np.deg2rad(rng.uniform(30.0, 55.0))),
                joint_gap_mm=gap,
            )
        )

    # -- roots ----------------------------------------------------------------------------------
    sac = tabulate_roots(
        sac,
        roots,
        s_max=vertebrae[-1].s_mid + 40.0,
        foramen_u=np.array([v.canal_half_width for v in vertebrae]),
        foramen_s=np.array([v.s_mid for v in vertebrae]),
    )

    # -- trunk ----------------------------------------------------------------------------------
    obesity = float(np.clip(rng.gamma(2.0, 0.5), 0.1, 3.0))
    habitus = Habitus(
        torso_half_width=float((150.0 if sex == "F" else 162.0) * scale + 12.0 * obesity),
        abdomen_depth=float(150.0 * scale + 30.0 * obesity),
        table_y=0.0,
        flank_fat_mm=float(8.0 + 14.0 * obesity),
        back_muscle_mm=float(rng.uniform(34.0, 46.0) * scale),
        psoas_max_radius=float((17.0 if sex == "F" else 21.0) * scale * rng.uniform(0.9, 1.1)),
        aorta_radius=float(rng.uniform(8.0, 11.0) + 0.02 * (age - 50)),
        muscle_fat_fraction=float(np.clip(0.05 + 0.004 * (age - 30) + 0.03 * obesity, 0.03, 0.35)),
    )
    habitus = _with_table(habitus, frame, vertebrae, sac, lf_base, roof_extra, 8.0 + 12.0 * obesity)

    levels = []
    for level in DISC_LEVELS:
        j = next(i for i, x in enumerate(discs) if x.name == level)
        levels.append(
            LumbarLevel(
                level=level,
                grade=grade_of[level],
                disc_index=j,
                dural_sac_area_mm2=sac.area_mm2(discs[j].s_mid),
                ap_diameter_mm=sac.ap_diameter_mm(discs[j].s_mid),
                posterior_fat_mm=fat_mm[level],
            )
        )
    return Anatomy(
        frame=frame,
        vertebrae=tuple(vertebrae),
        discs=tuple(discs),
        posterior_levels=tuple(posterior),
        sac=sac,
        sac_anterior_gap_mm=anterior_gap,
        habitus=habitus,
        texture=_texture(rng),
        levels=tuple(levels),
        sex=sex,
        age_years=age,
        lf_base_mm=lf_base,
        roof_extra_mm=roof_extra,
        laminar_slope=float(rng.uniform(0.45, 0.65)),
        lamina_thickness_mm=float(rng.uniform(4.5, 6.5)) * scale,
    )


def roof_depth(sac: DuralSac, lf_base: float, roof_extra: float, s: float) -> float:
    """Midline depth (mm, v) of the bony canal roof at s for the uncompressed sac."""
    _, b = sac.base_axes(np.asarray(s))
    return float(sac.centre_v + max(float(b), 4.0) + roof_extra + lf_base)


def _draw_pfirrmann(rng: np.random.Generator, name: str, grade: SchizasGrade | None, age: int) -> int:
    """Disc degeneration grade 1-5: older, lower and stenotic discs degenerate more."""
    base = 1.4 + 0.03 * (age - 30)
    base += {"L4-L5": 0.8, "L5-S1": 0.9, "L3-L4": 0.4}.get(name, 0.0)
    if grade is not None:
        base += 0.5 * "ABCD".index(grade.value)
    if name.startswith("T1") and name != "T12-L1":
        base -= 0.5
    return int(np.clip(round(base + rng.normal(0, 0.6)), 1, 5))


def _disc_shape(
    name: str,
    label: Label,
    s_low: float,
    s_high: float,
    slope: float,
    pfirrmann: int,
    grade: SchizasGrade | None,
    rng: np.random.Generator,
) -> DiscShape:
    """Disc with a posterior contour that matches its grade: reach into the canal is set later
    by the sac (the bulge wraps around the compressed sac); here the morphology and extent."""
    nucleus = float(np.clip(_PFIRRMANN_NUCLEUS_T2[pfirrmann] * rng.uniform(0.9, 1.08), 0.15, 0.95))
    if grade is None or grade is SchizasGrade.A:
        roll = rng.random()
        if grade is not None and pfirrmann >= 3 and roll < 0.55:
            morphology, bulge = "bulge", float(rng.uniform(1.0, 2.0))
        elif grade is not None and roll < 0.12:
            morphology, bulge = "protrusion", float(rng.uniform(1.5, 2.5))
        else:
            morphology, bulge = "none", float(rng.uniform(0.0, 0.6))
    else:
        morphology = str(
            rng.choice(["diffuse bulge", "diffuse bulge", "broad-based protrusion", "protrusion"])
        )
        bulge = 12.0  # reaches the compressed sac; clipped by the sac contour
    centre_u = 0.0
    if morphology == "protrusion":
        centre_u = float(rng.choice([-1.0, 0.0, 1.0]) * rng.uniform(3.0, 6.0))
    half_width = {"none": 9.0, "bulge": 13.0, "diffuse bulge": 16.0, "broad-based protrusion": 11.0}.get(
        morphology, 6.0
    )
    return DiscShape(
        name=name,
        label=label,
        s_low=s_low,
        s_high=s_high,
        wedge_slope=slope,
        pfirrmann=pfirrmann,
        nucleus_t2=nucleus,
        bulge_mm=bulge,
        bulge_centre_u=centre_u,
        bulge_half_width=half_width,
        morphology=morphology,
    )


def _plan_roots(rng: np.random.Generator, discs: list[DiscShape], sac_scale: float) -> tuple[RootPlan, ...]:
    """Roots of the cauda equina, dorsally layered (supine) with the lumbar pairs lateral."""
    exits: list[float | None] = [d.s_mid for d in discs[0:5]]  # L5-S1 .. L1-L2 exits
    plans: list[tuple[float | None, int]] = []
    for e in exits[::-1]:  # L1 roots (exit at L1-L2) first: the most lateral in the crescent
        plans += [(e, 1), (e, -1)]
    plans += [(None, 1), (None, -1)] * _SACRAL_ROOT_PAIRS
    n = len(plans)
    spread = float(rng.uniform(0.55, 1.0))  # crescent (A1) .. horseshoe (A2)
    golden = np.pi * (3 - np.sqrt(5))
    rot = float(rng.uniform(0, 2 * np.pi))
    fill_pts = [
        (
            0.8 * np.sqrt((k + 0.5) / n) * np.cos(k * golden + rot),
            0.8 * np.sqrt((k + 0.5) / n) * np.sin(k * golden + rot),
        )
        for k in range(n)
    ]
    fill_pts.sort(key=lambda q: np.arctan2(q[1], q[0]))
    out = []
    per_side: dict[int, int] = {1: 0, -1: 0}
    for exit_s, side in plans:
        rank = per_side[side]
        per_side[side] += 1
        # angle from the posterior midline: sacral roots dorsal-central, exiting roots lateral
        frac = 1.0 - rank / (n / 2)
        angle = np.pi / 2 - side * (0.15 + frac * 1.25 * spread)
        radius = float(rng.uniform(0.6, 0.85))
        dorsal = (radius * np.cos(angle), radius * np.sin(angle))
        root_radius = (0.95 if exit_s is not None else 0.75) * float(rng.uniform(0.85, 1.1)) * sac_scale
        out.append(
            RootPlan(
                exit_s=exit_s,
                side=side,
                dorsal_q=(float(dorsal[0]), float(dorsal[1])),
                fill_q=(0.0, 0.0),
                radius_mm=root_radius,
                wander=(
                    float(rng.uniform(0.02, 0.06)),
                    float(rng.uniform(0.02, 0.06)),
                    float(rng.uniform(50.0, 120.0)),
                    float(rng.uniform(0, 2 * np.pi)),
                ),
            )
        )
    # spread positions assigned in angular order of the dorsal ones, so roots do not cross
    order = sorted(range(n), key=lambda i: np.arctan2(out[i].dorsal_q[1], out[i].dorsal_q[0]))
    for rank, i in enumerate(order):
        q = fill_pts[rank]
        out[i] = RootPlan(
            out[i].exit_s,
            out[i].side,
            out[i].dorsal_q,
            (float(q[0]), float(q[1])),
            out[i].radius_mm,
            out[i].wander,
        )
    return tuple(out)


def _with_table(
    habitus: Habitus,
    frame: SpineFrame,
    vertebrae: list[VertebraShape],
    sac: DuralSac,
    lf_base: float,
    roof_extra: float,
    back_fat: float,
) -> Habitus:
    """Place the table plane behind the most posterior spinous process tip plus the back's fat."""
    deepest = -np.inf
    for v in vertebrae[1:5]:  # L5 .. L2: the back rests on the table below the thoracic curve
        back = roof_depth(sac, lf_base, roof_extra, v.s_mid) + 5.5 + habitus.back_muscle_mm
        deepest = max(deepest, float(frame.to_lps(v.s_mid, 0.0, back)[1]))
    return replace(habitus, table_y=float(deepest + back_fat))


def _texture(rng: np.random.Generator) -> Texture:
    step = 4.0
    shape = (110, 130, 120)
    grid = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 1.0, mode="wrap")
    grid /= max(float(grid.std()), 1e-6)
    return Texture(grid=grid, origin=(-220.0, -300.0, -180.0), step_mm=step)

"""Write a complete synthetic lumbar MRI study with its ground truth: the Python API.

`write_study(out_dir, seed)` draws grades, anatomy and protocol from the seed, renders the
sagittal T2/T1 and axial T2 series, writes DICOM under OUT/study and the ground truth under
OUT/ground_truth. The same seed gives byte-identical pixel data and the same UIDs.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.findings import DISC_LEVELS, SchizasGrade
from engine.synthetic_study.acquisition import (
    AxialStyle,
    SeriesProtocol,
    SlicePlane,
    StudyProtocol,
    plan_study,
)
from engine.synthetic_study.anatomy import Anatomy, build_anatomy
from engine.synthetic_study.dicom_writer import build_instance, derived_uid, study_identity, write_instance
from engine.synthetic_study.grades import draw_level_grades, parse_grades
from engine.synthetic_study.ground_truth import (
    GROUND_TRUTH_DIR,
    GROUND_TRUTH_FILE,
    MASK_DIR,
    REPORT_FILE,
    SCHEMA_VERSION,
    STUDY_DIR,
    GroundTruth,
    LevelTruth,
    SeriesTruth,
    SliceGeometryTruth,
    SliceLevel,
    mask_affine_ras,
    read_ground_truth,
    write_ground_truth_json,
    write_mask,
)
from engine.synthetic_study.labels import labels_json, structures_json
from engine.synthetic_study.rendering import acquire, coil_sensitivity, render_signal, window_for
from engine.synthetic_study.report_text import ReportContext, ReportLevel, compose_reference_report

GENERATOR_VERSION = "1.0.0"

_log = logging.getLogger(__name__)

# Independent random streams per aspect, so e.g. sampling grades never depends on rendering.
_STREAM_GRADES, _STREAM_ANATOMY, _STREAM_PROTOCOL, _STREAM_NOISE, _STREAM_REPORT, _STREAM_FILES = range(6)


@dataclass(frozen=True)
class StudyTiming:
    """Seconds spent per stage of `write_study`."""

    anatomy_s: float
    render_s: float
    write_s: float

    @property
    def total_s(self) -> float:
        return self.anatomy_s + self.render_s + self.write_s


def _streams(seed: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]


def sample_level_grades(seed: int) -> tuple[SchizasGrade, ...]:
    """The grades `write_study(seed=seed)` would draw, without rendering (fast)."""
    return draw_level_grades(_streams(seed)[_STREAM_GRADES])


def write_study(
    out_dir: str | Path,
    seed: int,
    grades: Sequence[SchizasGrade | str] | str | None = None,
    axial_style: AxialStyle | str | None = None,
    *,
    max_matrix: int | None = None,
    overwrite: bool = False,
) -> GroundTruth:
    """Write OUT/study (DICOM) and OUT/ground_truth for one seed; return the ground truth.

    grades: five Schizas grades L1-L2..L5-S1 ("A,B,C,D,A" or letters) forcing the levels;
        None draws them with the practice-like imbalance.
    axial_style: "continuous" or "angled"; None draws it from the seed.
    max_matrix: cap rows/columns (keeping the field of view) for fast tests; None keeps the
        drawn 256-512 matrices.
    overwrite: replace an earlier synthetic study in OUT (recognised by its ground_truth.json);
        a non-empty OUT/study from anything else is never removed.
    Raises FileExistsError when OUT already holds a study and overwrite is False, ValueError
    for bad grades or styles.
    """
    return write_study_timed(out_dir, seed, grades, axial_style, max_matrix=max_matrix, overwrite=overwrite)[
        0
    ]


def write_study_timed(
    out_dir: str | Path,
    seed: int,
    grades: Sequence[SchizasGrade | str] | str | None = None,
    axial_style: AxialStyle | str | None = None,
    *,
    max_matrix: int | None = None,
    overwrite: bool = False,
) -> tuple[GroundTruth, StudyTiming]:
    """As `write_study`, also returning the time spent per stage."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    streams = _streams(seed)
    drawn = draw_level_grades(streams[_STREAM_GRADES])
    level_grades = (
        drawn
        if grades is None
        else parse_grades(grades if isinstance(grades, str) else [str(g) for g in grades])
    )
    style = None if axial_style is None else AxialStyle(axial_style)
    out = Path(out_dir)
    _prepare_output(out, overwrite)

    t0 = time.perf_counter()
    anatomy = build_anatomy(streams[_STREAM_ANATOMY], level_grades)
    protocol = plan_study(streams[_STREAM_PROTOCOL], anatomy, style)
    if max_matrix is not None:
        protocol = _cap_matrix(protocol, max_matrix)
    t1 = time.perf_counter()
    images, labels = _render(anatomy, protocol, streams[_STREAM_NOISE])
    t2 = time.perf_counter()
    gt = _write(out, seed, anatomy, protocol, images, labels, streams[_STREAM_REPORT], streams[_STREAM_FILES])
    t3 = time.perf_counter()
    timing = StudyTiming(anatomy_s=t1 - t0, render_s=t2 - t1, write_s=t3 - t2)
    _log.info(
        "synthetic study: %.2f s (anatomy %.2f, render %.2f, write %.2f)",
        timing.total_s,
        timing.anatomy_s,
        timing.render_s,
        timing.write_s,
    )
    return gt, timing


def _prepare_output(out: Path, overwrite: bool) -> None:
    study, gt_dir = out / STUDY_DIR, out / GROUND_TRUTH_DIR
    occupied = [p for p in (study, gt_dir) if p.exists() and any(p.iterdir())]
    if not occupied:
        return
    ours = (gt_dir / GROUND_TRUTH_FILE).is_file()
    if not overwrite or not ours:
        what = ", ".join(str(p) for p in occupied)
        hint = " (use overwrite to replace an earlier synthetic study)" if ours else ""
        raise FileExistsError(f"{what} already exists and is not empty{hint}")
    for p in (study, gt_dir):
        if p.exists():
            shutil.rmtree(p)
    preview = out / "preview.png"
    if preview.is_file():
        preview.unlink()


def _cap_matrix(protocol: StudyProtocol, max_matrix: int) -> StudyProtocol:
    def cap(plane: SlicePlane) -> SlicePlane:
        if plane.rows <= max_matrix and plane.columns <= max_matrix:
            return plane
        f = max(plane.rows, plane.columns) / max_matrix
        rows, cols = round(plane.rows / f), round(plane.columns / f)
        spacing = (
            plane.pixel_spacing_mm[0] * plane.rows / rows,
            plane.pixel_spacing_mm[1] * plane.columns / cols,
        )
        centre = plane.centre_lps
        first = (
            centre
            - 0.5 * (cols - 1) * spacing[1] * np.asarray(plane.row_direction)
            - 0.5 * (rows - 1) * spacing[0] * np.asarray(plane.column_direction)
        )
        return replace(
            plane,
            position_lps=(float(first[0]), float(first[1]), float(first[2])),
            pixel_spacing_mm=spacing,
            rows=rows,
            columns=cols,
        )

    series = tuple(
        replace(
            s,
            planes=tuple(cap(p) for p in s.planes),
            acquisition_matrix=(
                min(s.acquisition_matrix[0], max_matrix),
                min(s.acquisition_matrix[1], max_matrix),
            ),
        )
        for s in protocol.series
    )
    return replace(protocol, series=series)


def _render(
    anatomy: Anatomy, protocol: StudyProtocol, rng: np.random.Generator
) -> tuple[dict[int, list[np.ndarray]], dict[int, np.ndarray]]:
    """Stored pixels per series number (list in protocol plane order) and label volumes."""
    images: dict[int, list[np.ndarray]] = {}
    labels: dict[int, np.ndarray] = {}
    sag_t1, sag_t2, ax_t2 = protocol.series
    wobble = {s.series_number: rng.normal(0.0, 0.06, 6) for s in protocol.series}
    # Sagittal T1 and T2 share one prescription: evaluate the anatomy once for both.
    sag_t1_px, sag_t2_px, sag_labels = [], [], []
    for plane in sag_t2.planes:
        sig = render_signal(anatomy, plane, sag_t2.slice_thickness_mm)
        sag_labels.append(sig.label)
        sag_t2_px.append(
            acquire(
                sig.t2, coil_sensitivity(anatomy, plane, sag_t2, wobble[sag_t2.series_number]), sag_t2, rng
            )
        )
        sag_t1_px.append(
            acquire(
                sig.t1, coil_sensitivity(anatomy, plane, sag_t1, wobble[sag_t1.series_number]), sag_t1, rng
            )
        )
    images[sag_t2.series_number], images[sag_t1.series_number] = sag_t2_px, sag_t1_px
    labels[sag_t2.series_number] = labels[sag_t1.series_number] = np.stack(sag_labels)
    ax_px, ax_labels = [], []
    for plane in ax_t2.planes:
        sig = render_signal(anatomy, plane, ax_t2.slice_thickness_mm)
        ax_labels.append(sig.label)
        ax_px.append(
            acquire(sig.t2, coil_sensitivity(anatomy, plane, ax_t2, wobble[ax_t2.series_number]), ax_t2, rng)
        )
    images[ax_t2.series_number] = ax_px
    labels[ax_t2.series_number] = np.stack(ax_labels)
    return images, labels


def _file_names(rng: np.random.Generator, protocol: StudyProtocol) -> dict[tuple[int, int], str]:
    """Relative file name per (series number, plane index), shuffled so that file order says
    nothing about slice order; the naming style varies across seeds."""
    style = int(rng.integers(3))
    keys = [(s.series_number, i) for s in protocol.series for i in range(len(s.planes))]
    numbers = rng.permutation(len(keys)) + 1
    names: dict[tuple[int, int], str] = {}
    for key, number in zip(keys, numbers, strict=True):
        if style == 0:
            names[key] = f"IM{number:05d}"
        elif style == 1:
            names[key] = f"{int(rng.integers(16**8)):08x}.dcm"
        else:
            names[key] = f"S{key[0]:04d}/I{int(number):05d}.dcm"
    if style == 1 and len(set(names.values())) < len(names):  # hex collision: fall back to numbers
        names = {k: f"IM{n:05d}.dcm" for k, n in zip(keys, numbers, strict=True)}
    return names


def _write(
    out: Path,
    seed: int,
    anatomy: Anatomy,
    protocol: StudyProtocol,
    images: dict[int, list[np.ndarray]],
    labels: dict[int, np.ndarray],
    report_rng: np.random.Generator,
    file_rng: np.random.Generator,
) -> GroundTruth:
    identity = study_identity(seed, GENERATOR_VERSION, anatomy.sex, anatomy.age_years)
    names = _file_names(file_rng, protocol)
    series_truth = []
    for proto in protocol.series:
        number = proto.series_number
        series_uid = derived_uid(GENERATOR_VERSION, seed, "series", number)
        window = window_for(images[number])
        sops = []
        for i, plane in enumerate(proto.planes):
            sop = derived_uid(GENERATOR_VERSION, seed, "instance", number, i + 1)
            sops.append(sop)
            ds = build_instance(
                identity, protocol.vendor, proto, series_uid, sop, i + 1, plane, images[number][i], window
            )
            write_instance(ds, out / STUDY_DIR / names[(number, i)])
        series_truth.append(_series_truth(out, anatomy, proto, series_uid, sops, labels[number]))
    levels = tuple(
        LevelTruth(
            level=lv.level,
            grade=lv.grade,
            dural_sac_area_mm2=lv.dural_sac_area_mm2,
            ap_diameter_mm=lv.ap_diameter_mm,
            disc_centre_lps=_tuple3(anatomy.disc_centre_lps(lv.level)),
            disc_normal_lps=_tuple3(anatomy.disc_normal_lps(lv.level)),
            posterior_epidural_fat_mm=lv.posterior_fat_mm,
            disc_morphology=anatomy.disc(lv.level).morphology,
            pfirrmann_grade=anatomy.disc(lv.level).pfirrmann,
        )
        for lv in anatomy.levels
    )
    report = compose_reference_report(_report_context(anatomy, protocol), report_rng)
    (out / GROUND_TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    (out / GROUND_TRUTH_DIR / REPORT_FILE).write_text(report, encoding="utf-8")
    gt = GroundTruth(
        root=out,
        schema_version=SCHEMA_VERSION,
        generator_version=GENERATOR_VERSION,
        seed=seed,
        study_instance_uid=identity.study_instance_uid,
        levels=levels,
        labels={int(k): v for k, v in labels_json().items()},
        structures={k: tuple(v) for k, v in structures_json().items()},
        series=tuple(series_truth),
        reference_report=report,
    )
    write_ground_truth_json(gt)
    return read_ground_truth(out)


def _tuple3(x: np.ndarray) -> tuple[float, float, float]:
    return (float(x[0]), float(x[1]), float(x[2]))


def _series_truth(
    out: Path,
    anatomy: Anatomy,
    proto: SeriesProtocol,
    series_uid: str,
    sops: list[str],
    label_volume: np.ndarray,
) -> SeriesTruth:
    """Mask file (slices ordered along the mean normal) and per-slice levels for axial series."""
    normals = np.array([p.normal for p in proto.planes])
    mean_normal = normals.sum(axis=0)
    mean_normal /= np.linalg.norm(mean_normal)
    order = np.argsort([float(np.dot(p.centre_lps, mean_normal)) for p in proto.planes], kind="stable")
    first, last = proto.planes[order[0]], proto.planes[order[-1]]
    step = (np.asarray(last.position_lps) - np.asarray(first.position_lps)) / max(len(order) - 1, 1)
    if len(order) == 1:
        step = first.normal * proto.spacing_between_slices_mm
    affine = mask_affine_ras(
        np.asarray(first.position_lps),
        np.asarray(first.row_direction),
        np.asarray(first.column_direction),
        first.pixel_spacing_mm,
        step,
    )
    mask_file = f"{MASK_DIR}/{proto.series_number}.nii.gz"
    write_mask(out / GROUND_TRUTH_DIR / mask_file, label_volume[order], affine)
    slice_levels: list[SliceLevel] = []
    if proto.orientation == "axial":
        slice_levels = [_slice_level(anatomy, proto.planes[i], sops[i]) for i in order]
    return SeriesTruth(
        series_instance_uid=series_uid,
        series_number=proto.series_number,
        description=proto.description,
        orientation=proto.orientation,
        sequence=proto.sequence,
        mask_file=mask_file,
        sop_instance_uids=tuple(sops[i] for i in order),
        slice_levels=tuple(slice_levels),
        pixel_spacing_mm=first.pixel_spacing_mm,
        slice_geometry=tuple(
            SliceGeometryTruth(
                sop_instance_uid=sops[i],
                image_position_patient=proto.planes[i].position_lps,
                image_orientation_patient=(*proto.planes[i].row_direction, *proto.planes[i].column_direction),
            )
            for i in order
        ),
        axial_style=None if proto.axial_style is None else proto.axial_style.value,
    )


def _slice_level(anatomy: Anatomy, plane: SlicePlane, sop: str) -> SliceLevel:
    """Nearest lumbar disc to the slice, measured where the slice crosses the canal axis (its
    centre on the spine, robust to a field of view centred elsewhere); None above the middle
    of L1 or below the middle of S1."""
    centre = _canal_crossing(anatomy, plane)

    def distance(level: str) -> float:
        return float(np.dot(anatomy.disc_normal_lps(level), centre - anatomy.disc_centre_lps(level)))

    if distance("L1-L2") > anatomy.vertebrae[5].s_mid - anatomy.disc("L1-L2").s_mid:
        return SliceLevel(sop, None, None, False)
    if distance("L5-S1") < anatomy.vertebrae[0].s_mid - anatomy.disc("L5-S1").s_mid:
        return SliceLevel(sop, None, None, False)
    d, level = min(((distance(lv), lv) for lv in DISC_LEVELS), key=lambda x: abs(x[0]))
    return SliceLevel(sop, level, d, abs(d) <= 0.5 * anatomy.disc(level).height)


def _canal_crossing(anatomy: Anatomy, plane: SlicePlane) -> np.ndarray:
    """Point (LPS mm) where the plane meets the canal centreline; the image centre if it
    does not meet it within the spine."""
    s = np.arange(anatomy.vertebrae[0].s_mid - 30.0, anatomy.vertebrae[-1].s_mid, 0.5)
    axis = anatomy.frame.points_lps(s, np.zeros_like(s), np.full_like(s, anatomy.sac.centre_v))
    side = (axis - np.asarray(plane.position_lps)) @ plane.normal
    crossing = np.flatnonzero(np.sign(side[1:]) != np.sign(side[:-1]))
    if crossing.size == 0:
        return plane.centre_lps
    i = int(crossing[np.argmin(np.abs(side[crossing]))])
    f = side[i] / (side[i] - side[i + 1])
    return axis[i] + f * (axis[i + 1] - axis[i])


def _report_context(anatomy: Anatomy, protocol: StudyProtocol) -> ReportContext:
    levels = []
    for lv in anatomy.levels:
        d = anatomy.disc(lv.level)
        levels.append(
            ReportLevel(
                level=lv.level,
                grade=lv.grade,
                dural_sac_area_mm2=lv.dural_sac_area_mm2,
                ap_diameter_mm=lv.ap_diameter_mm,
                morphology=d.morphology,
                protrusion_side=int(np.sign(d.bulge_centre_u)),
                pfirrmann=d.pfirrmann,
            )
        )
    return ReportContext(
        levels=tuple(levels),
        axial_style=protocol.axial_style.value,
        lordosis_deg=anatomy.frame.shape.lordosis_deg,
        conus_level=_conus_level(anatomy),
    )


def _conus_level(anatomy: Anatomy) -> str:
    tip = anatomy.sac.conus_tip_s
    for j, v in enumerate(anatomy.vertebrae):
        if j < len(anatomy.discs) and anatomy.discs[j].s_low <= tip <= anatomy.discs[j].s_high:
            return anatomy.discs[j].name
        if abs(tip - v.s_mid) <= 0.5 * v.height:
            return v.name
    return "L1"

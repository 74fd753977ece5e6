"""Hand-built StudyFindings and Study fixtures for report tests (the analysis engine is separate).

`build_case()` returns a Study with a sagittal T1/T2 series and an axial T2 series holding one
drawn axial slice per disc level (a phantom: body, vertebral body/disc, dural sac with CSF and
rootlets, posterior elements), and the StudyFindings an analysis would give for it: per-level
grade, probabilities, dural sac area and AP diameter measured from the drawn sac mask, key slice,
and the dural sac masks themselves.

Other test folders load this file by path (tests run with --import-mode=importlib).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.findings import (
    DISC_LEVELS,
    Condition,
    DiscLevel,
    LevelFinding,
    Provenance,
    SchizasGrade,
    SliceMask,
    Structure,
    StudyFindings,
)
from engine.study.model import (
    ImageSlice,
    LoadReport,
    Orientation,
    PatientInfo,
    Sequence,
    Series,
    SliceGeometry,
    Study,
)

STUDY_UID = "1.2.826.0.1.3680043.8.498.1001"
SAG_T2_UID = "1.2.826.0.1.3680043.8.498.2001"
SAG_T1_UID = "1.2.826.0.1.3680043.8.498.2002"
AXIAL_UID = "1.2.826.0.1.3680043.8.498.2003"
PIXEL_SPACING_MM = 0.5
MATRIX = 192

# A typical moderate case: L4-L5 severe, L3-L4 moderate, L5-S1 narrow canal by size only.
DEFAULT_GRADES = {"L1-L2": "A", "L2-L3": "A", "L3-L4": "B", "L4-L5": "C", "L5-S1": "A"}
DEFAULT_AREAS = {"L1-L2": 168.0, "L2-L3": 152.4, "L3-L4": 91.6, "L4-L5": 61.3, "L5-S1": 96.0}
DEFAULT_AP = {"L1-L2": 14.2, "L2-L3": 13.5, "L3-L4": 10.7, "L4-L5": 7.84, "L5-S1": 12.6}


def model_provenance(version: str = "0.3.0") -> Provenance:
    return Provenance(
        model_name="lss-vlm-spca",
        model_version=version,
        model_sha256="9f2c" * 16,
        engine_version="0.1.0",
        parameters=(("threshold", "0.5"), ("input_size", "224")),
    )


def sop_uid(level: str) -> str:
    return f"1.2.826.0.1.3680043.8.498.3{DISC_LEVELS.index(level) + 1:03d}"


def sag_sop_uid(level: str) -> str:
    return f"1.2.826.0.1.3680043.8.498.4{DISC_LEVELS.index(level) + 1:03d}"


def sac_ellipse_axes_px(area_mm2: float, ap_mm: float) -> tuple[float, float]:
    """(semi-axis along rows = AP, semi-axis along columns = lateral), in pixels."""
    b = ap_mm / 2.0 / PIXEL_SPACING_MM
    a = area_mm2 / (math.pi * (ap_mm / 2.0)) / PIXEL_SPACING_MM
    return b, a


def axial_phantom(area_mm2: float, ap_mm: float, grade: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A drawn axial T2 slice (float32, 0..1000) and its dural sac mask (bool), MATRIX x MATRIX.

    Anterior is up (row 0), as on a radiological display. The sac is an ellipse whose area and AP
    extent match `area_mm2` and `ap_mm`; rootlets clump for B and fill the sac for C/D.
    """
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:MATRIX, 0:MATRIX].astype(np.float64)
    img = np.zeros((MATRIX, MATRIX), np.float64)
    body = ((rr - 100) / 88) ** 2 + ((cc - 96) / 94) ** 2 <= 1.0
    img[body] = 420.0  # paraspinal muscle and fat mixed
    vertebra = ((rr - 52) / 30) ** 2 + ((cc - 96) / 36) ** 2 <= 1.0
    img[vertebra] = 260.0  # disc / vertebral body
    cy, cx = 96.0, 96.0
    b, a = sac_ellipse_axes_px(area_mm2, ap_mm)
    canal = ((rr - cy) / (b + 5)) ** 2 + ((cc - cx) / (a + 6)) ** 2 <= 1.0
    img[canal] = 620.0  # epidural fat, bright on T2 turbo spin echo
    sac = ((rr - cy) / b) ** 2 + ((cc - cx) / a) ** 2 <= 1.0
    img[sac] = 950.0  # CSF
    rootlets = {"A": 8, "B": 22, "C": 60, "D": 80}[grade]
    spread = (0.1, 0.8) if grade in ("A", "B") else (-0.9, 0.9)  # dependent for A/B, filling for C/D
    for _ in range(rootlets):
        ry = cy + rng.uniform(*spread) * b
        rx = cx + rng.uniform(-0.6, 0.6) * a
        img[(((rr - ry) ** 2 + (cc - rx) ** 2) <= 2.2) & sac] = 350.0
    for side in (-1, 1):
        facet = ((rr - 132) / 18) ** 2 + ((cc - (96 + side * 30)) / 14) ** 2 <= 1.0
        img[facet] = 180.0
    lamina = ((rr - 150) / 10) ** 2 + ((cc - 96) / 26) ** 2 <= 1.0
    img[lamina] = 150.0
    img += rng.normal(0, 25, img.shape)
    return np.clip(img, 0, 1000).astype(np.float32), sac


def axial_geometry(level_index: int) -> SliceGeometry:
    return SliceGeometry(
        position_lps=(-48.0, -60.0, 40.0 - 38.0 * level_index),
        row_direction=(1.0, 0.0, 0.0),
        column_direction=(0.0, 1.0, 0.0),
        pixel_spacing_mm=(PIXEL_SPACING_MM, PIXEL_SPACING_MM),
        rows=MATRIX,
        columns=MATRIX,
        slice_thickness_mm=4.0,
    )


def _sag_geometry() -> SliceGeometry:
    return SliceGeometry(
        position_lps=(0.0, -120.0, 120.0),
        row_direction=(0.0, 1.0, 0.0),
        column_direction=(0.0, 0.0, -1.0),
        pixel_spacing_mm=(0.9, 0.9),
        rows=320,
        columns=320,
        slice_thickness_mm=4.0,
    )


@dataclass
class Case:
    study: Study
    findings: StudyFindings
    pixels: dict[str, np.ndarray] = field(default_factory=dict)  # SOP UID -> pixels


def probabilities(grade: str, confidence: float) -> tuple[tuple[SchizasGrade, float], ...]:
    rest = (1.0 - confidence) / 3.0
    return tuple((g, confidence if g.value == grade else rest) for g in SchizasGrade)


def build_case(
    grades: dict[str, str] | None = None,
    areas: dict[str, float] | None = None,
    ap: dict[str, float] | None = None,
    axial_levels: tuple[str, ...] | None = None,
    patient: PatientInfo | None = None,
    seed: int = 0,
) -> Case:
    """A study and its findings. Levels not in `axial_levels` have a disc but no axial finding."""
    grades = {**DEFAULT_GRADES, **(grades or {})}
    areas = {**DEFAULT_AREAS, **(areas or {})}
    ap = {**DEFAULT_AP, **(ap or {})}
    axial_levels = DISC_LEVELS if axial_levels is None else axial_levels
    prov = model_provenance()
    pixels: dict[str, np.ndarray] = {}
    axial_slices = []
    masks = []
    level_findings = []
    discs = []
    for i, level in enumerate(DISC_LEVELS):
        discs.append(
            DiscLevel(
                label=level,
                centre_lps=(0.0, -40.0, 40.0 - 38.0 * i),
                normal_lps=(0.0, 0.0, 1.0),
                confidence=0.97,
                sagittal_series_uid=SAG_T2_UID,
                sagittal_sop_instance_uid=sag_sop_uid(level),
            )
        )
        if level not in axial_levels:
            continue
        uid = sop_uid(level)
        img, sac = axial_phantom(areas[level], ap[level], grades[level], seed=seed + i)
        pixels[uid] = img
        axial_slices.append(
            ImageSlice(
                sop_instance_uid=uid,
                source_path=Path(f"/nonexistent/axial/{i}.dcm"),
                frame_index=None,
                instance_number=i + 1,
                geometry=axial_geometry(i),
                window_centre=500.0,
                window_width=1000.0,
            )
        )
        masks.append(
            SliceMask(
                structure=Structure.DURAL_SAC.value,
                series_instance_uid=AXIAL_UID,
                sop_instance_uid=uid,
                frame_index=None,
                mask=sac,
                provenance=prov,
            )
        )
        confidence = {"A": 0.91, "B": 0.74, "C": 0.82, "D": 0.88}[grades[level]]
        warnings = (
            ("grade and dural sac area disagree",) if grades[level] == "A" and areas[level] < 100 else ()
        )
        level_findings.append(
            LevelFinding(
                level=level,
                condition=Condition.CENTRAL_CANAL_STENOSIS,
                grade=SchizasGrade(grades[level]),
                grade_probabilities=probabilities(grades[level], confidence),
                dural_sac_area_mm2=areas[level],
                ap_diameter_mm=ap[level],
                confidence=confidence if not warnings else 0.58,
                axial_series_uid=AXIAL_UID,
                key_slice_sop_instance_uid=uid,
                key_slice_frame_index=None,
                warnings=warnings,
                provenance=prov,
            )
        )

    def loader(s: ImageSlice) -> np.ndarray:
        return pixels.get(s.sop_instance_uid, np.zeros((320, 320), np.float32))

    sag_slice = ImageSlice(
        sop_instance_uid="1.2.826.0.1.3680043.8.498.4999",
        source_path=Path("/nonexistent/sag/1.dcm"),
        frame_index=None,
        instance_number=1,
        geometry=_sag_geometry(),
    )
    series = (
        Series(
            SAG_T1_UID,
            STUDY_UID,
            1,
            "SAG T1 TSE",
            "MR",
            Orientation.SAGITTAL,
            Sequence.T1,
            (sag_slice,),
            loader,
        ),
        Series(
            SAG_T2_UID,
            STUDY_UID,
            2,
            "SAG T2 TSE",
            "MR",
            Orientation.SAGITTAL,
            Sequence.T2,
            (sag_slice,),
            loader,
        ),
        Series(
            AXIAL_UID,
            STUDY_UID,
            3,
            "AX T2 TSE",
            "MR",
            Orientation.AXIAL,
            Sequence.T2,
            tuple(axial_slices),
            loader,
        ),
    )
    study = Study(
        study_instance_uid=STUDY_UID,
        study_date="20261115",
        description="MRI LUMBAR SPINE",
        accession_number="ACC-20261115-0042",
        patient=patient
        or PatientInfo(name="Doe^Jane", patient_id="PID-0042", birth_date="19580312", sex="F"),
        series=series,
        set_aside=(),
        load_report=LoadReport(files_found=len(axial_slices) + 2, files_loaded=len(axial_slices) + 2),
        root=Path("/nonexistent"),
    )
    findings = StudyFindings(
        study_instance_uid=STUDY_UID,
        levels=tuple(discs),
        findings=tuple(level_findings),
        masks=tuple(masks),
        provenance=prov,
    )
    return Case(study=study, findings=findings, pixels=pixels)


def with_finding(findings: StudyFindings, level: str, **changes: object) -> StudyFindings:
    """The findings with one level's LevelFinding changed (e.g. grade=SchizasGrade.D)."""
    return replace(
        findings,
        findings=tuple(replace(f, **changes) if f.level == level else f for f in findings.findings),  # type: ignore[arg-type]
    )


def with_edited_mask(findings: StudyFindings, level: str, shrink_px: int = 2) -> StudyFindings:
    """A person edits the dural sac mask at a level (erodes it) and the area is re-measured."""
    key = next(f for f in findings.findings if f.level == level).key_slice_sop_instance_uid
    new_masks = []
    new_area = None
    for m in findings.masks:
        if m.sop_instance_uid == key:
            eroded = m.mask.copy()
            for _ in range(shrink_px):
                eroded = (
                    eroded
                    & np.roll(eroded, 1, 0)
                    & np.roll(eroded, -1, 0)
                    & np.roll(eroded, 1, 1)
                    & np.roll(eroded, -1, 1)
                )
            old_area = next(f for f in findings.findings if f.level == level).dural_sac_area_mm2 or 0.0
            new_area = old_area * float(eroded.sum()) / float(m.mask.sum())
            m = replace(m, mask=eroded, edited_by_person=True)
        new_masks.append(m)
    changed = with_finding(findings, level, dural_sac_area_mm2=new_area, measured_on_edited_mask=True)
    return replace(changed, masks=tuple(new_masks))


def with_relabelled_levels(findings: StudyFindings, mapping: dict[str, str]) -> StudyFindings:
    """A person corrects the level labels (e.g. a transitional vertebra): each disc and its finding
    get the new label."""
    return replace(
        findings,
        levels=tuple(
            replace(d, label=mapping.get(d.label, d.label), label_overridden=d.label in mapping)
            for d in findings.levels
        ),
        findings=tuple(replace(f, level=mapping.get(f.level, f.level)) for f in findings.findings),
    )

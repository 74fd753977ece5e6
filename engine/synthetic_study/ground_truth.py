"""Ground truth written beside a synthetic study, and a typed reader for it.

Layout of an output folder OUT:

    OUT/study/                          DICOM files only
    OUT/ground_truth/ground_truth.json  levels, label ids, structures, series (schema below)
    OUT/ground_truth/masks/<SeriesNumber>.nii.gz
    OUT/ground_truth/reference_report.txt

Masks are uint8 label volumes with array axes (column i, row j, slice k) and an affine from the
DICOM geometry converted to RAS (dcm2niix convention), so
`np.asarray(nib.load(f).dataobj).transpose(2, 1, 0)` is (slice, row, column) matching the DICOM
pixels; slice k is the image whose SOPInstanceUID is `sop_instance_uids[k]` (ascending position
along the mean slice normal). For angled axial series the slices do not share one orientation:
the affine then describes the first slice and the mean step only; use each slice's own
`image_position_patient` / `image_orientation_patient` (also in the JSON) for geometry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.findings import SchizasGrade

SCHEMA_VERSION = "1.0"
STUDY_DIR = "study"
GROUND_TRUTH_DIR = "ground_truth"
GROUND_TRUTH_FILE = "ground_truth.json"
REPORT_FILE = "reference_report.txt"
MASK_DIR = "masks"


class GroundTruthError(ValueError):
    """The ground-truth folder or JSON is missing or malformed; the message names the file/field."""


@dataclass(frozen=True)
class LevelTruth:
    """One graded disc level.

    dural_sac_area_mm2: sac cross-section at the disc, in the plane perpendicular to the canal.
    ap_diameter_mm: antero-posterior diameter of the sac in the midline, same plane.
    disc_centre_lps / disc_normal_lps: disc centre (mm) and unit normal pointing cranially.
    posterior_epidural_fat_mm: midline posterior epidural fat thickness at the disc (0 for D).
    """

    level: str
    grade: SchizasGrade
    dural_sac_area_mm2: float
    ap_diameter_mm: float
    disc_centre_lps: tuple[float, float, float]
    disc_normal_lps: tuple[float, float, float]
    posterior_epidural_fat_mm: float = 0.0
    disc_morphology: str = ""
    pfirrmann_grade: int = 0


@dataclass(frozen=True)
class SliceLevel:
    """Which disc an axial slice belongs to: the nearest lumbar disc (None beyond mid-L1 or
    mid-S1) and the signed distance (mm, + cranial) of the slice centre to that disc's plane."""

    sop_instance_uid: str
    level: str | None
    distance_to_disc_mm: float | None
    within_disc: bool = False  # the slice centre lies between the disc's endplates


@dataclass(frozen=True)
class SliceGeometryTruth:
    sop_instance_uid: str
    image_position_patient: tuple[float, float, float]
    image_orientation_patient: tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class SeriesTruth:
    series_instance_uid: str
    series_number: int
    description: str
    orientation: str  # "sagittal" or "axial"
    sequence: str  # "T1" or "T2"
    mask_file: str  # relative to the ground_truth folder
    sop_instance_uids: tuple[str, ...]  # in the mask's slice order
    slice_levels: tuple[SliceLevel, ...]  # axial series only, in the mask's slice order
    pixel_spacing_mm: tuple[float, float] = (0.0, 0.0)
    slice_geometry: tuple[SliceGeometryTruth, ...] = ()
    axial_style: str | None = None


@dataclass(frozen=True)
class GroundTruth:
    """Everything written beside a synthetic study; see the module docstring for the layout."""

    root: Path  # the OUT folder
    schema_version: str
    generator_version: str
    seed: int
    study_instance_uid: str
    levels: tuple[LevelTruth, ...]
    labels: dict[int, str]
    structures: dict[str, tuple[int, ...]]
    series: tuple[SeriesTruth, ...]
    reference_report: str

    @property
    def study_dir(self) -> Path:
        return self.root / STUDY_DIR

    def level(self, name: str) -> LevelTruth:
        for lv in self.levels:
            if lv.level == name:
                return lv
        raise KeyError(name)

    def series_by_number(self, series_number: int) -> SeriesTruth:
        for s in self.series:
            if s.series_number == series_number:
                return s
        raise KeyError(series_number)

    def find_series(self, orientation: str, sequence: str) -> SeriesTruth:
        for s in self.series:
            if s.orientation == orientation and s.sequence == sequence:
                return s
        raise KeyError(f"{orientation} {sequence}")

    def load_mask(self, series: SeriesTruth) -> np.ndarray:
        """Label volume of a series as uint8 (slice, row, column), slices in `sop_instance_uids` order."""
        import nibabel as nib

        path = self.root / GROUND_TRUTH_DIR / series.mask_file
        if not path.is_file():
            raise GroundTruthError(f"{path}: mask file missing")
        data = np.asarray(nib.load(str(path)).dataobj)  # type: ignore[attr-defined]
        return np.ascontiguousarray(data.transpose(2, 1, 0)).astype(np.uint8)

    def structure_mask(self, labels: np.ndarray, structure: str) -> np.ndarray:
        """Boolean mask of a structure (prompt text, e.g. "dural sac") in a label array."""
        if structure not in self.structures:
            raise KeyError(f"unknown structure {structure!r}; known: {', '.join(self.structures)}")
        return np.isin(labels, np.asarray(self.structures[structure], dtype=labels.dtype))


def ground_truth_json(gt: GroundTruth) -> dict[str, Any]:
    """The JSON object written to ground_truth.json."""
    return {
        "schema_version": gt.schema_version,
        "generator_version": gt.generator_version,
        "seed": gt.seed,
        "study_instance_uid": gt.study_instance_uid,
        "levels": [
            {
                "level": lv.level,
                "grade": lv.grade.value,
                "dural_sac_area_mm2": round(lv.dural_sac_area_mm2, 3),
                "ap_diameter_mm": round(lv.ap_diameter_mm, 3),
                "disc_centre_lps": [round(x, 4) for x in lv.disc_centre_lps],
                "disc_normal_lps": [round(x, 6) for x in lv.disc_normal_lps],
                "posterior_epidural_fat_mm": round(lv.posterior_epidural_fat_mm, 3),
                "disc_morphology": lv.disc_morphology,
                "pfirrmann_grade": lv.pfirrmann_grade,
            }
            for lv in gt.levels
        ],
        "labels": {str(k): v for k, v in gt.labels.items()},
        "structures": {k: list(v) for k, v in gt.structures.items()},
        "series": [
            {
                "series_instance_uid": s.series_instance_uid,
                "series_number": s.series_number,
                "description": s.description,
                "orientation": s.orientation,
                "sequence": s.sequence,
                "axial_style": s.axial_style,
                "mask_file": s.mask_file,
                "pixel_spacing_mm": list(s.pixel_spacing_mm),
                "sop_instance_uids": list(s.sop_instance_uids),
                "slice_levels": [
                    {
                        "sop_instance_uid": sl.sop_instance_uid,
                        "level": sl.level,
                        "distance_to_disc_mm": None
                        if sl.distance_to_disc_mm is None
                        else round(sl.distance_to_disc_mm, 3),
                        "within_disc": sl.within_disc,
                    }
                    for sl in s.slice_levels
                ],
                "slice_geometry": [
                    {
                        "sop_instance_uid": g.sop_instance_uid,
                        "image_position_patient": list(g.image_position_patient),
                        "image_orientation_patient": list(g.image_orientation_patient),
                    }
                    for g in s.slice_geometry
                ],
            }
            for s in gt.series
        ],
    }


def write_ground_truth_json(gt: GroundTruth) -> Path:
    path = gt.root / GROUND_TRUTH_DIR / GROUND_TRUTH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ground_truth_json(gt), indent=1) + "\n", encoding="utf-8")
    return path


def write_mask(path: Path, labels: np.ndarray, affine_ras: np.ndarray) -> None:
    """Write a (slice, row, column) uint8 label volume as NIfTI with axes (i, j, k)."""
    import nibabel as nib

    data = np.ascontiguousarray(labels.transpose(2, 1, 0)).astype(np.uint8)
    img = nib.Nifti1Image(data, affine_ras)
    columns = affine_ras[:3, :3]
    norms = np.linalg.norm(columns, axis=0)
    unit = columns / np.where(norms > 0, norms, 1.0)
    orthogonal = bool(np.allclose(unit.T @ unit, np.eye(3), atol=1e-4))
    img.set_sform(affine_ras, code=1)
    img.set_qform(affine_ras if orthogonal else None, code=1 if orthogonal else 0)
    img.header.set_xyzt_units("mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))


def mask_affine_ras(
    first_position_lps: np.ndarray,
    row_direction: np.ndarray,
    column_direction: np.ndarray,
    pixel_spacing_mm: tuple[float, float],
    slice_step_lps: np.ndarray,
) -> np.ndarray:
    """4x4 affine from voxel (i column, j row, k slice) to RAS mm (dcm2niix convention)."""
    lps = np.eye(4)
    lps[:3, 0] = np.asarray(row_direction) * pixel_spacing_mm[1]
    lps[:3, 1] = np.asarray(column_direction) * pixel_spacing_mm[0]
    lps[:3, 2] = slice_step_lps
    lps[:3, 3] = first_position_lps
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def read_ground_truth(out_dir: str | Path) -> GroundTruth:
    """Read OUT/ground_truth/ground_truth.json (and the reference report) into typed objects.

    Raises GroundTruthError naming the file and field when something is missing or malformed.
    """
    root = Path(out_dir)
    path = root / GROUND_TRUTH_DIR / GROUND_TRUTH_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GroundTruthError(f"{path}: not found") from exc
    except json.JSONDecodeError as exc:
        raise GroundTruthError(f"{path}: not valid JSON ({exc})") from exc
    report_path = root / GROUND_TRUTH_DIR / REPORT_FILE
    report = report_path.read_text(encoding="utf-8") if report_path.is_file() else ""
    try:
        return GroundTruth(
            root=root,
            schema_version=str(raw["schema_version"]),
            generator_version=str(raw["generator_version"]),
            seed=int(raw["seed"]),
            study_instance_uid=str(raw.get("study_instance_uid", "")),
            levels=tuple(_level(x) for x in raw["levels"]),
            labels={int(k): str(v) for k, v in raw["labels"].items()},
            structures={str(k): tuple(int(i) for i in v) for k, v in raw["structures"].items()},
            series=tuple(_series(x) for x in raw["series"]),
            reference_report=report,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GroundTruthError(f"{path}: missing or malformed field {exc}") from exc


def _triple(x: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in x)
    return (a, b, c)


def _level(x: dict[str, Any]) -> LevelTruth:
    return LevelTruth(
        level=str(x["level"]),
        grade=SchizasGrade(x["grade"]),
        dural_sac_area_mm2=float(x["dural_sac_area_mm2"]),
        ap_diameter_mm=float(x["ap_diameter_mm"]),
        disc_centre_lps=_triple(x["disc_centre_lps"]),
        disc_normal_lps=_triple(x["disc_normal_lps"]),
        posterior_epidural_fat_mm=float(x.get("posterior_epidural_fat_mm", 0.0)),
        disc_morphology=str(x.get("disc_morphology", "")),
        pfirrmann_grade=int(x.get("pfirrmann_grade", 0)),
    )


def _series(x: dict[str, Any]) -> SeriesTruth:
    geometry = []
    for g in x.get("slice_geometry", []):
        iop = tuple(float(v) for v in g["image_orientation_patient"])
        if len(iop) != 6:
            raise ValueError("image_orientation_patient needs 6 values")
        geometry.append(
            SliceGeometryTruth(
                sop_instance_uid=str(g["sop_instance_uid"]),
                image_position_patient=_triple(g["image_position_patient"]),
                image_orientation_patient=(iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]),
            )
        )
    spacing = x.get("pixel_spacing_mm", [0.0, 0.0])
    return SeriesTruth(
        series_instance_uid=str(x["series_instance_uid"]),
        series_number=int(x["series_number"]),
        description=str(x["description"]),
        orientation=str(x["orientation"]),
        sequence=str(x["sequence"]),
        mask_file=str(x["mask_file"]),
        sop_instance_uids=tuple(str(u) for u in x["sop_instance_uids"]),
        slice_levels=tuple(
            SliceLevel(
                sop_instance_uid=str(sl["sop_instance_uid"]),
                level=None if sl["level"] is None else str(sl["level"]),
                distance_to_disc_mm=None
                if sl["distance_to_disc_mm"] is None
                else float(sl["distance_to_disc_mm"]),
                within_disc=bool(sl.get("within_disc", False)),
            )
            for sl in x.get("slice_levels", [])
        ),
        pixel_spacing_mm=(float(spacing[0]), float(spacing[1])),
        slice_geometry=tuple(geometry),
        axial_style=x.get("axial_style"),
    )

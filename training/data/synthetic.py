"""Synthetic studies written by the project's phantom generator.

Layout of one study folder OUT/:
    study/...                               DICOM files (any names, any depth)
    ground_truth/ground_truth.json          levels (grade per disc), label names, structures -> label
                                            ids, and per series its mask file and slice order
    ground_truth/masks/<n>.nii.gz           uint8 label volume; np.asarray(nib.load(f).dataobj)
                                            .transpose(2, 1, 0) is (slice, row, col), aligned with
                                            the DICOM pixels of sop_instance_uids[slice]
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.findings import DISC_LEVELS, SchizasGrade, Structure
from engine.prompt_vocabulary import AXIAL_STRUCTURES, SAGITTAL_STRUCTURES, prompt_for
from engine.study.model import Orientation
from training.data.samples import UNKNOWN_GRADE, PromptSample, SliceSource, mask_centroid

SUPPORTED_SCHEMA = "1.0"
GRADE_ORDER: tuple[str, ...] = tuple(g.value for g in SchizasGrade)


def read_slice_pixels(path: Path) -> tuple[np.ndarray, tuple[float, float]]:
    """Stored pixel values (rows, cols) float32 after the modality rescale, and PixelSpacing (row, col) mm.

    The one place that reads DICOM pixels for training (to be swapped for engine.study.load_study).
    """
    import pydicom

    dataset = pydicom.dcmread(str(path))
    pixels = dataset.pixel_array.astype(np.float32)
    if pixels.ndim != 2:
        raise ValueError(f"{path}: expected a single-frame 2D image, got shape {pixels.shape}")
    slope = float(getattr(dataset, "RescaleSlope", 1.0) or 1.0)
    intercept = float(getattr(dataset, "RescaleIntercept", 0.0) or 0.0)
    spacing = getattr(dataset, "PixelSpacing", None)
    if spacing is None or len(spacing) != 2:
        raise ValueError(f"{path}: no PixelSpacing")
    return pixels * slope + intercept, (float(spacing[0]), float(spacing[1]))


@functools.lru_cache(maxsize=8)
def _label_volume(mask_file: Path) -> np.ndarray:
    import nibabel as nib

    image: Any = nib.load(str(mask_file))
    return np.asarray(image.dataobj).transpose(2, 1, 0)


@dataclass(frozen=True)
class DicomSliceReader:
    """One DICOM slice and its plane of a NIfTI label volume (slice index in the mask order)."""

    dicom_path: Path
    mask_file: Path
    slice_index: int

    def pixels(self) -> np.ndarray:
        return read_slice_pixels(self.dicom_path)[0]

    def labels(self) -> np.ndarray:
        volume = _label_volume(self.mask_file)
        labels = volume[self.slice_index]
        image_shape = self.pixels().shape
        if labels.shape != image_shape:
            raise ValueError(
                f"{self.mask_file.name} slice {self.slice_index}: mask shape {labels.shape} != image shape {image_shape}"
            )
        return labels


def _index_dicom_files(study_dir: Path) -> dict[str, tuple[Path, tuple[float, float]]]:
    """SOPInstanceUID -> (file, PixelSpacing (row, col) mm), from the headers only."""
    import pydicom

    index = {}
    for path in sorted(p for p in study_dir.rglob("*") if p.is_file()):
        try:
            header = pydicom.dcmread(str(path), stop_before_pixels=True)
        except Exception:  # not DICOM (e.g. notes beside the files): skipped, the mask order decides
            continue
        uid = getattr(header, "SOPInstanceUID", None)
        spacing = getattr(header, "PixelSpacing", None)
        if uid and spacing is not None and len(spacing) == 2:
            index[str(uid)] = (path, (float(spacing[0]), float(spacing[1])))
    return index


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ValueError(f"{where}: missing field {key!r}")
    return mapping[key]


def synthetic_study_samples(study_root: Path, grade_max_distance_mm: float = 4.0) -> list[PromptSample]:
    """Samples of one synthetic study: sagittal slices crossing the canal (vertebra, disc, canal
    prompts) and axial slices assigned to a level ("dural sac at <level>" carrying that level's grade
    when the slice lies within grade_max_distance_mm of the disc, and "posterior epidural fat")."""
    truth_file = study_root / "ground_truth" / "ground_truth.json"
    if not truth_file.is_file():
        raise FileNotFoundError(f"{study_root}: no ground_truth/ground_truth.json")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    version = _require(truth, "schema_version", str(truth_file))
    if str(version).split(".")[0] != SUPPORTED_SCHEMA.split(".")[0]:
        raise ValueError(
            f"{truth_file}: schema_version {version} is not supported (expected {SUPPORTED_SCHEMA})"
        )
    grades = {}
    for level in _require(truth, "levels", str(truth_file)):
        name, grade = _require(level, "level", str(truth_file)), _require(level, "grade", str(truth_file))
        if name not in DISC_LEVELS or grade not in GRADE_ORDER:
            raise ValueError(f"{truth_file}: bad level entry {name!r} grade {grade!r}")
        grades[name] = GRADE_ORDER.index(grade)
    # The generator also names finer structures (e.g. "cauda equina") that no prompt asks for.
    known = {s.value for s in Structure}
    structures = {
        Structure(name): tuple(int(i) for i in ids)
        for name, ids in _require(truth, "structures", str(truth_file)).items()
        if name in known
    }
    dicom_index = _index_dicom_files(study_root / "study")
    group = f"synthetic-{study_root.name}-{truth.get('seed', '')}"
    samples: list[PromptSample] = []
    for series in _require(truth, "series", str(truth_file)):
        where = f"{truth_file} series {series.get('series_number', '?')}"
        mask_file = truth_file.parent / _require(series, "mask_file", where)
        if not mask_file.is_file():
            raise FileNotFoundError(f"{where}: mask file {mask_file} not found")
        orientation = _require(series, "orientation", where)
        uids = list(_require(series, "sop_instance_uids", where))
        volume = _label_volume(mask_file)
        if volume.shape[0] != len(uids):
            raise ValueError(f"{where}: mask has {volume.shape[0]} slices but {len(uids)} SOP instance UIDs")
        slice_levels = {e["sop_instance_uid"]: e for e in series.get("slice_levels", [])}
        for index, uid in enumerate(uids):
            if uid not in dicom_index:
                raise ValueError(f"{where}: no DICOM image with SOPInstanceUID {uid} and a PixelSpacing")
            path, spacing = dicom_index[uid]
            source = SliceSource(
                f"{group}-{uid}", group, orientation, spacing, DicomSliceReader(path, mask_file, index)
            )
            labels = volume[index]
            if orientation == "sagittal":
                samples += _sagittal_samples(source, labels, structures)
            elif orientation == "axial" and uid in slice_levels:
                samples += _axial_samples(
                    source, labels, structures, slice_levels[uid], grades, grade_max_distance_mm
                )
    return samples


def _union(labels: np.ndarray, ids: tuple[int, ...]) -> np.ndarray:
    return np.isin(labels, ids)


def _sagittal_samples(
    source: SliceSource, labels: np.ndarray, structures: dict[Structure, tuple[int, ...]]
) -> list[PromptSample]:
    canal_ids = structures.get(Structure.SPINAL_CANAL, ()) + structures.get(Structure.DURAL_SAC, ())
    centre = mask_centroid(_union(labels, canal_ids))
    if centre is None:
        return []  # lateral slices without the canal are not what the sagittal prompts are asked on
    return [
        PromptSample(source, prompt_for(s, Orientation.SAGITTAL), structures[s], UNKNOWN_GRADE, centre)
        for s in SAGITTAL_STRUCTURES
        if s in structures
    ]


def _axial_samples(
    source: SliceSource,
    labels: np.ndarray,
    structures: dict[Structure, tuple[int, ...]],
    slice_level: dict[str, Any],
    grades: dict[str, int],
    grade_max_distance_mm: float,
) -> list[PromptSample]:
    level = slice_level.get("level")
    if level not in grades:
        return []
    sac_ids = structures.get(Structure.DURAL_SAC, ())
    centre = mask_centroid(_union(labels, sac_ids + structures.get(Structure.SPINAL_CANAL, ())))
    if centre is None:
        return []
    near_disc = abs(float(slice_level.get("distance_to_disc_mm", 0.0))) <= grade_max_distance_mm
    samples = []
    for structure in AXIAL_STRUCTURES:
        if structure not in structures:
            continue
        grade = grades[level] if structure is Structure.DURAL_SAC and near_disc else UNKNOWN_GRADE
        samples.append(
            PromptSample(
                source, prompt_for(structure, Orientation.AXIAL, level), structures[structure], grade, centre
            )
        )
    return samples


def synthetic_samples(root: Path, grade_max_distance_mm: float = 4.0) -> list[PromptSample]:
    """Samples of every study under root (a study folder itself, or a folder of study folders)."""
    if (root / "ground_truth" / "ground_truth.json").is_file():
        return synthetic_study_samples(root, grade_max_distance_mm)
    studies = sorted(p.parent.parent for p in root.glob("*/ground_truth/ground_truth.json"))
    if not studies:
        raise FileNotFoundError(f"no synthetic study (ground_truth/ground_truth.json) under {root}")
    samples = []
    for study in studies:
        samples += synthetic_study_samples(study, grade_max_distance_mm)
    return samples

"""Tiny studies written in the on-disk formats the training datasets read (no real patient data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# Labels of the fake studies: 1 vertebra, 2 disc, 3 dural sac, 4 posterior epidural fat.
INTENSITY = {0: 200.0, 1: 900.0, 2: 1500.0, 3: 2600.0, 4: 3200.0}


def _write_dicom(path: Path, pixels: np.ndarray, uid: str, series_uid: str, spacing: float) -> None:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = generate_uid()
    ds.Modality = "MR"
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelSpacing = [spacing, spacing]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)


def _axial_labels(size: int, grade_index: int) -> np.ndarray:
    """Vertebra/disc ring in front, a dural sac that shrinks with the grade, fat behind it (none at D)."""
    rr, cc = np.mgrid[:size, :size]
    c = size / 2
    labels = np.zeros((size, size), np.uint8)
    labels[((rr - 0.3 * size) ** 2 + (cc - c) ** 2) < (0.2 * size) ** 2] = 2
    radius = 0.16 * size * (1.0 - 0.2 * grade_index)
    labels[((rr - 0.62 * size) ** 2 + (cc - c) ** 2) < radius**2] = 3
    if grade_index < 3:
        labels[(np.abs(rr - (0.62 * size + radius + 3)) < 2) & (np.abs(cc - c) < 6)] = 4
    return labels


def _sagittal_labels(size: int, with_canal: bool) -> np.ndarray:
    labels = np.zeros((size, size), np.uint8)
    for top in range(4, size - 8, 14):
        labels[top : top + 10, 10 : size // 2] = 1
        labels[top + 10 : top + 14, 12 : size // 2 - 2] = 2
    if with_canal:
        labels[:, size // 2 + 4 : size // 2 + 12] = 3
    return labels


def write_fake_synthetic_study(root: Path, seed: int, grades: dict[str, str], size: int = 64) -> Path:
    """A study folder (study/ DICOM + ground_truth/) with one sagittal and one axial series."""
    import nibabel as nib
    from pydicom.uid import generate_uid

    rng = np.random.default_rng(seed)
    (root / "study").mkdir(parents=True)
    (root / "ground_truth" / "masks").mkdir(parents=True)
    series_entries = []
    plans = {
        "sagittal": [_sagittal_labels(size, with_canal=i != 0) for i in range(3)],
        "axial": [_axial_labels(size, "ABCD".index(grades[level])) for level in grades for _ in range(2)],
    }
    for number, (orientation, slices) in enumerate(plans.items(), start=1):
        series_uid = generate_uid()
        uids = []
        for index, labels in enumerate(slices):
            uid = generate_uid()
            pixels = np.vectorize(INTENSITY.get)(labels) + rng.normal(0, 60, labels.shape)
            _write_dicom(
                root / "study" / f"s{number}_{index:03d}.dcm", pixels.clip(0, 4095), uid, series_uid, 0.8
            )
            uids.append(uid)
        volume = np.stack(slices)  # (slice, row, col)
        nib.save(
            nib.Nifti1Image(volume.transpose(2, 1, 0), np.eye(4)),
            root / "ground_truth" / "masks" / f"{number}.nii.gz",
        )
        entry = {
            "series_instance_uid": series_uid,
            "series_number": number,
            "description": f"T2 {orientation}",
            "orientation": orientation,
            "sequence": "T2",
            "mask_file": f"masks/{number}.nii.gz",
            "sop_instance_uids": uids,
        }
        if orientation == "axial":
            levels = [level for level in grades for _ in range(2)]
            entry["slice_levels"] = [
                {"sop_instance_uid": uid, "level": level, "distance_to_disc_mm": 1.0 + 5.0 * (i % 2)}
                for i, (uid, level) in enumerate(zip(uids, levels, strict=True))
            ]
        series_entries.append(entry)
    truth = {
        "schema_version": "1.0",
        "seed": seed,
        "levels": [
            {
                "level": level,
                "grade": grade,
                "dural_sac_area_mm2": 100.0,
                "ap_diameter_mm": 10.0,
                "disc_centre_lps": [0.0, 0.0, 0.0],
                "disc_normal_lps": [0.0, 0.0, 1.0],
            }
            for level, grade in grades.items()
        ],
        "labels": {
            "0": "background",
            "1": "vertebra",
            "2": "intervertebral disc",
            "3": "dural sac",
            "4": "posterior epidural fat",
        },
        "structures": {
            "dural sac": [3],
            "spinal canal": [3],
            "vertebra": [1],
            "intervertebral disc": [2],
            "posterior epidural fat": [4],
        },
        "series": series_entries,
    }
    (root / "ground_truth" / "ground_truth.json").write_text(json.dumps(truth, indent=2), encoding="utf-8")
    return root


def write_fake_spider(root: Path, patients: int = 4, size: tuple[int, int] = (80, 64)) -> Path:
    """A SPIDER-like folder: manifest + 2 PNG slices per patient with labels 29/76/150."""
    import cv2

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir(parents=True)
    lines = ["image,mask,spider_patient,slice_index"]
    rng = np.random.default_rng(0)
    for patient in range(1, patients + 1):
        for index in range(2):
            labels = _sagittal_labels(size[1], with_canal=True)
            labels = np.pad(labels, ((0, size[0] - size[1]), (0, 0)))
            mask = np.select([labels == 1, labels == 2, labels == 3], [76, 29, 150], 0).astype(np.uint8)
            image = np.select([labels == 1, labels == 2, labels == 3], [90, 140, 230], 30) + rng.normal(
                0, 8, labels.shape
            )
            name = f"{patient}_t2_slice{index}.png"
            cv2.imwrite(str(root / "images" / name), image.clip(0, 255).astype(np.uint8))
            cv2.imwrite(str(root / "masks" / name), mask)
            lines.append(f"images/{name},masks/{name},{patient},{index}")
    (root / "slices_manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root

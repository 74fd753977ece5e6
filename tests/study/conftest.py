"""A small DICOM factory: MR series with arbitrary geometry, encodings and deliberate faults.

Pixel values encode each slice's true spatial index: stored value at every pixel of slice k is
`(k + 1) * 10 + column % 5` (before signed offset), so a test can check the sort order from pixels.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

Vector = tuple[float, float, float]
SAGITTAL: tuple[Vector, Vector] = ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0))
CORONAL: tuple[Vector, Vector] = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0))
AXIAL: tuple[Vector, Vector] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))


def tilted_axial(degrees: float) -> tuple[Vector, Vector]:
    """Axial plane rotated about the left-right axis (as for a disc-parallel axial)."""
    t = math.radians(degrees)
    return (1.0, 0.0, 0.0), (0.0, math.cos(t), math.sin(t))


@dataclass
class SeriesSpec:
    """What to write; every field has a sensible MR default (sagittal T2, 64x64, 5 slices)."""

    n_slices: int = 5
    rows: int = 64
    columns: int = 64
    pixel_spacing: tuple[float, float] = (0.8, 0.8)
    slice_spacing: float = 4.0
    orientation: tuple[Vector, Vector] = SAGITTAL
    centre: Vector = (0.0, 0.0, 0.0)
    description: str = "T2 SAG"
    series_number: int = 1
    echo_time: float | None = 100.0
    repetition_time: float | None = 3000.0
    inversion_time: float | None = None
    scanning_sequence: str = "SE"
    signed: bool = False
    bits_stored: int = 12
    rescale: tuple[float, float] | None = None  # (slope, intercept)
    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    frame_of_reference_uid: str = field(default_factory=generate_uid)
    study_description: str = "LUMBAR SPINE"
    modality: str = "MR"
    sop_class_uid: str = MRImageStorage
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "M", "NORM")
    compress_to: str | None = None  # a transfer syntax for ds.compress(...)
    slice_thickness: float | None = 3.5


@dataclass(frozen=True)
class WrittenSlice:
    path: Path
    sop_instance_uid: str
    spatial_index: int  # 0 = first along the stack normal
    centre: np.ndarray


def stored_pattern(spec: SeriesSpec, spatial_index: int) -> np.ndarray:
    """Stored values of the slice at `spatial_index`: (k + 1) * 10 + column % 5, minus 300 if signed."""
    values = (spatial_index + 1) * 10 + (np.arange(spec.columns) % 5)[None, :].repeat(spec.rows, axis=0)
    if spec.signed:
        values = values - 300
    return values.astype(np.int16 if spec.signed else np.uint16)


def expected_pixels(spec: SeriesSpec, spatial_index: int) -> np.ndarray:
    slope, intercept = spec.rescale or (1.0, 0.0)
    return stored_pattern(spec, spatial_index).astype(np.float64) * slope + intercept


def mr_dataset(
    spec: SeriesSpec,
    *,
    row: Vector,
    column: Vector,
    centre: np.ndarray,
    pixels: np.ndarray,
    instance_number: int,
) -> Dataset:
    """One single-frame MR image dataset with file meta, ready for save_as."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = spec.sop_class_uid
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = list(spec.image_type)
    ds.SOPClassUID = spec.sop_class_uid
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = "ACC123"
    ds.Modality = spec.modality
    ds.Manufacturer = "LSS Test Factory"
    ds.StudyDescription = spec.study_description
    ds.SeriesDescription = spec.description
    ds.PatientName = "Secret^Patient"
    ds.PatientID = "PID-0042"
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = "F"
    ds.ScanningSequence = spec.scanning_sequence
    ds.SequenceVariant = "SK"
    ds.StudyInstanceUID = spec.study_uid
    ds.SeriesInstanceUID = spec.series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = spec.series_number
    ds.InstanceNumber = instance_number
    if spec.echo_time is not None:
        ds.EchoTime = spec.echo_time
    if spec.repetition_time is not None:
        ds.RepetitionTime = spec.repetition_time
    if spec.inversion_time is not None:
        ds.InversionTime = spec.inversion_time
    if spec.slice_thickness is not None:
        ds.SliceThickness = spec.slice_thickness
    r, c = np.asarray(row), np.asarray(column)
    first_pixel = (
        centre
        - (spec.columns - 1) / 2 * spec.pixel_spacing[1] * r
        - (spec.rows - 1) / 2 * spec.pixel_spacing[0] * c
    )
    ds.ImagePositionPatient = [round(float(v), 4) for v in first_pixel]
    ds.ImageOrientationPatient = [round(float(v), 6) for v in (*row, *column)]
    ds.FrameOfReferenceUID = spec.frame_of_reference_uid
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelSpacing = list(spec.pixel_spacing)
    ds.BitsAllocated = 16
    ds.BitsStored = spec.bits_stored
    ds.HighBit = spec.bits_stored - 1
    ds.PixelRepresentation = 1 if spec.signed else 0
    ds.WindowCenter = 100
    ds.WindowWidth = 400
    if spec.rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = spec.rescale
        ds.RescaleType = "US"
    ds.PixelData = pixels.tobytes()
    return ds


def slice_centres(spec: SeriesSpec) -> list[np.ndarray]:
    row, column = spec.orientation
    normal = np.cross(row, column)
    return [np.asarray(spec.centre) + normal * spec.slice_spacing * k for k in range(spec.n_slices)]


def write_series(
    folder: Path, spec: SeriesSpec, *, seed: int = 0, names: str = "shuffled"
) -> list[WrittenSlice]:
    """Write `spec` as single-frame files with shuffled file names and InstanceNumbers.

    names: "shuffled" (random names without suffix), "dcm" (random names with .dcm).
    Returns the slices in spatial order (along the slice normal).
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    row, column = spec.orientation
    order = list(range(spec.n_slices))
    rng.shuffle(order)  # InstanceNumber follows no spatial order
    written = []
    for k, centre in enumerate(slice_centres(spec)):
        ds = mr_dataset(
            spec,
            row=row,
            column=column,
            centre=centre,
            pixels=stored_pattern(spec, k),
            instance_number=order[k] + 1,
        )
        if spec.compress_to is not None:
            ds.compress(spec.compress_to, generate_instance_uid=False)
        name = f"img{rng.randrange(10**8):08d}" + (".dcm" if names == "dcm" else "")
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        written.append(WrittenSlice(path, ds.SOPInstanceUID, k, centre))
    return written


def write_angled_axial_series(
    folder: Path,
    spec: SeriesSpec,
    tilts_deg: list[float],
    centres_z: list[float],
    per_stack: int = 3,
    seed: int = 1,
) -> list[WrittenSlice]:
    """One series of small axial stacks, each tilted about left-right and centred at a z (mm).

    Returns slices in the expected order: stacks from feet to head, within a stack along its normal.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    k = 0
    numbers = list(range(1, len(tilts_deg) * per_stack + 1))
    rng.shuffle(numbers)
    for tilt, z in zip(tilts_deg, centres_z, strict=True):
        row, column = tilted_axial(tilt)
        normal = np.cross(row, column)
        for j in range(per_stack):
            centre = np.array([0.0, 20.0, z]) + normal * spec.slice_spacing * (j - (per_stack - 1) / 2)
            ds = mr_dataset(
                spec,
                row=row,
                column=column,
                centre=centre,
                pixels=stored_pattern(spec, k),
                instance_number=numbers[k],
            )
            path = folder / f"ax{rng.randrange(10**8):08d}"
            ds.save_as(path, enforce_file_format=True)
            written.append(WrittenSlice(path, ds.SOPInstanceUID, k, centre))
            k += 1
    return written


def write_enhanced_mr(path: Path, spec: SeriesSpec, *, frame_order: list[int] | None = None) -> list[int]:
    """One Enhanced MR multi-frame file; frame f holds spatial slice frame_order[f].

    Geometry in per-frame PlanePositionSequence, shared PlaneOrientation / PixelMeasures /
    PixelValueTransformation / MRTimingAndRelatedParameters, per-frame MREchoSequence.
    """
    order = frame_order or list(range(spec.n_slices))
    row, column = spec.orientation
    centres = slice_centres(spec)
    first = mr_dataset(
        spec, row=row, column=column, centre=centres[0], pixels=stored_pattern(spec, 0), instance_number=1
    )
    ds = Dataset()
    ds.file_meta = first.file_meta
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.EnhancedMRImageStorage
    for keyword in (
        "SpecificCharacterSet",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "Modality",
        "Manufacturer",
        "StudyDescription",
        "SeriesDescription",
        "PatientName",
        "PatientID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "StudyID",
        "SeriesNumber",
        "InstanceNumber",
        "SOPInstanceUID",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
    ):
        setattr(ds, keyword, getattr(first, keyword))
    ds.SOPClassUID = pydicom.uid.EnhancedMRImageStorage
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.AcquisitionContrast = "T2" if "T2" in spec.description else "T1"
    ds.NumberOfFrames = len(order)
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = list(spec.pixel_spacing)
    measures.SliceThickness = spec.slice_thickness or 3.0
    shared.PixelMeasuresSequence = DicomSequence([measures])
    plane = Dataset()
    plane.ImageOrientationPatient = list(first.ImageOrientationPatient)
    shared.PlaneOrientationSequence = DicomSequence([plane])
    timing = Dataset()
    timing.RepetitionTime = spec.repetition_time or 3000.0
    shared.MRTimingAndRelatedParametersSequence = DicomSequence([timing])
    slope, intercept = spec.rescale or (1.0, 0.0)
    transform = Dataset()
    transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = slope, intercept, "US"
    shared.PixelValueTransformationSequence = DicomSequence([transform])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    frames = []
    pixel_frames = []
    for f, k in enumerate(order):
        item = Dataset()
        position = Dataset()
        single = mr_dataset(
            spec, row=row, column=column, centre=centres[k], pixels=stored_pattern(spec, k), instance_number=1
        )
        position.ImagePositionPatient = list(single.ImagePositionPatient)
        item.PlanePositionSequence = DicomSequence([position])
        content = Dataset()
        content.InStackPositionNumber = f + 1
        item.FrameContentSequence = DicomSequence([content])
        echo = Dataset()
        echo.EffectiveEchoTime = spec.echo_time or 100.0
        item.MREchoSequence = DicomSequence([echo])
        frames.append(item)
        pixel_frames.append(stored_pattern(spec, k))
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(frames)
    ds.PixelData = np.stack(pixel_frames).tobytes()
    if spec.compress_to is not None:
        ds.compress(spec.compress_to, generate_instance_uid=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return order


def non_image_dataset(study_uid: str, sop_class_uid: str, modality: str, description: str) -> Dataset:
    """A minimal non-image object (SR, PR, KO...) in the given study."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class_uid
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class_uid
    ds.Modality = modality
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesDescription = description
    ds.SeriesNumber = 99
    ds.InstanceNumber = 1
    ds.PatientName = "Secret^Patient"
    ds.PatientID = "PID-0042"
    return ds


@dataclass
class DicomFactory:
    """Fixture object: the factory functions and constants, writing under the test's tmp_path.

    (Tests run with --import-mode=importlib and cannot import conftest; they use this object.)
    """

    root: Path
    SAGITTAL = SAGITTAL
    CORONAL = CORONAL
    AXIAL = AXIAL
    tilted_axial = staticmethod(tilted_axial)
    expected_pixels = staticmethod(expected_pixels)
    stored_pattern = staticmethod(stored_pattern)
    write_series = staticmethod(write_series)
    write_angled_axial_series = staticmethod(write_angled_axial_series)
    write_enhanced_mr = staticmethod(write_enhanced_mr)
    non_image_dataset = staticmethod(non_image_dataset)
    mr_dataset = staticmethod(mr_dataset)

    def spec(self, **overrides: object) -> SeriesSpec:
        return replace(SeriesSpec(), **overrides)  # type: ignore[arg-type]

    def series(self, subfolder: str = "study", **overrides: object) -> tuple[SeriesSpec, list[WrittenSlice]]:
        """Write a series (SeriesSpec defaults + overrides) under root/subfolder."""
        spec = self.spec(**overrides)
        return spec, write_series(self.root / subfolder, spec, seed=spec.series_number)


@pytest.fixture
def dicom_factory(tmp_path: Path) -> DicomFactory:
    return DicomFactory(tmp_path)


@pytest.fixture
def pydicom_mr_file() -> Callable[[str], Path]:
    """Path of one of pydicom's bundled test files (never downloads)."""
    from pydicom.data import get_testdata_file

    def get(name: str) -> Path:
        found = get_testdata_file(name, download=False)
        assert found is not None, f"{name} is not bundled with pydicom"
        return Path(str(found))

    return get

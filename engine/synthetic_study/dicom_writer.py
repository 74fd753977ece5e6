"""Write synthetic series as valid MR Image Storage instances (pydicom).

Identifiers are clearly fake ("DEMO^LUMBAR", "DEMO-<seed>") and every UID is derived from the
generator version, the seed and the object, so the same seed always gives the same files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from engine.synthetic_study.acquisition import SeriesProtocol, SlicePlane, Vendor

PATIENT_NAME = "DEMO^LUMBAR"
IMPLEMENTATION_VERSION_NAME = "LSS_SYNTH"


def derived_uid(generator_version: str, seed: int, *parts: object) -> str:
    """A DICOM UID that depends only on the generator version, the seed and `parts`."""
    return generate_uid(entropy_srcs=["lss-synthetic-study", generator_version, str(seed), *map(str, parts)])


@dataclass(frozen=True)
class StudyIdentity:
    """Study-level attributes shared by all instances."""

    seed: int
    generator_version: str
    study_instance_uid: str
    frame_of_reference_uid: str
    patient_id: str
    patient_sex: str
    patient_age_years: int
    birth_date: str
    study_date: str
    study_time: str
    accession_number: str
    study_id: str


def study_identity(seed: int, generator_version: str, sex: str, age_years: int) -> StudyIdentity:
    day = dt.date(2024, 1, 1) + dt.timedelta(days=seed % 700)
    seconds = 8 * 3600 + (seed * 7919) % (10 * 3600)
    birth = dt.date(day.year - age_years, 1 + seed % 12, 1 + seed % 28)
    return StudyIdentity(
        seed=seed,
        generator_version=generator_version,
        study_instance_uid=derived_uid(generator_version, seed, "study"),
        frame_of_reference_uid=derived_uid(generator_version, seed, "frame-of-reference"),
        patient_id=f"DEMO-{seed:06d}",
        patient_sex=sex,
        patient_age_years=age_years,
        birth_date=birth.strftime("%Y%m%d"),
        study_date=day.strftime("%Y%m%d"),
        study_time=f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}",
        accession_number=f"DEMO{seed:08d}",
        study_id=str(1 + seed % 9999),
    )


def build_instance(
    identity: StudyIdentity,
    vendor: Vendor,
    protocol: SeriesProtocol,
    series_instance_uid: str,
    sop_instance_uid: str,
    instance_number: int,
    plane: SlicePlane,
    pixels: np.ndarray,
    window: tuple[float, float],
) -> Dataset:
    """One MR Image Storage instance for `pixels` (uint16, rows x columns, 12 bits stored)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.InstanceCreationDate = identity.study_date
    ds.InstanceCreationTime = identity.study_time
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_instance_uid
    ds.StudyDate = identity.study_date
    ds.SeriesDate = identity.study_date
    ds.AcquisitionDate = identity.study_date
    ds.ContentDate = identity.study_date
    series_time = _time_plus(identity.study_time, 60 * (protocol.series_number % 97))
    ds.StudyTime = identity.study_time
    ds.SeriesTime = series_time
    ds.AcquisitionTime = series_time
    ds.ContentTime = series_time
    ds.AccessionNumber = identity.accession_number
    ds.Modality = "MR"
    ds.Manufacturer = vendor.manufacturer
    ds.InstitutionName = "LSS Desktop synthetic data"
    ds.ReferringPhysicianName = ""
    ds.StationName = "SYNTH01"
    ds.StudyDescription = "LUMBAR SPINE (SYNTHETIC DEMO)"
    ds.SeriesDescription = protocol.description
    ds.ManufacturerModelName = vendor.model
    ds.PatientName = PATIENT_NAME
    ds.PatientID = identity.patient_id
    ds.PatientBirthDate = identity.birth_date
    ds.PatientSex = identity.patient_sex
    ds.PatientAge = f"{identity.patient_age_years:03d}Y"
    ds.PatientIdentityRemoved = "NO"
    ds.BodyPartExamined = "LSPINE"
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = ["SK", "SP"]
    ds.ScanOptions = ["PFP"]
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = vendor.tse_name
    ds.AngioFlag = "N"
    ds.SliceThickness = _ds(protocol.slice_thickness_mm)
    ds.RepetitionTime = _ds(protocol.repetition_time_ms)
    ds.EchoTime = _ds(protocol.echo_time_ms)
    ds.NumberOfAverages = "1"
    ds.ImagingFrequency = _ds(42.577478 * vendor.field_strength_t)
    ds.ImagedNucleus = "1H"
    ds.EchoNumbers = "1"
    ds.MagneticFieldStrength = _ds(vendor.field_strength_t)
    ds.SpacingBetweenSlices = _ds(protocol.spacing_between_slices_mm)
    ds.EchoTrainLength = str(protocol.echo_train_length)
    ds.PixelBandwidth = _ds(protocol.pixel_bandwidth_hz)
    ds.SoftwareVersions = vendor.software
    ds.ProtocolName = protocol.description
    freq, phase = protocol.acquisition_matrix
    ds.AcquisitionMatrix = [0, freq, phase, 0] if protocol.phase_encoding == "ROW" else [freq, 0, 0, phase]
    ds.InPlanePhaseEncodingDirection = protocol.phase_encoding
    ds.FlipAngle = _ds(protocol.flip_angle_deg)
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = identity.study_instance_uid
    ds.SeriesInstanceUID = series_instance_uid
    ds.StudyID = identity.study_id
    ds.SeriesNumber = str(protocol.series_number)
    ds.AcquisitionNumber = "1"
    ds.InstanceNumber = str(instance_number)
    ds.ImagePositionPatient = [_ds(x) for x in plane.position_lps]
    ds.ImageOrientationPatient = [_ds(x, 8) for x in (*plane.row_direction, *plane.column_direction)]
    ds.FrameOfReferenceUID = identity.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = _ds(float(np.dot(plane.normal, plane.position_lps)))
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = plane.rows
    ds.Columns = plane.columns
    ds.PixelSpacing = [_ds(plane.pixel_spacing_mm[0], 8), _ds(plane.pixel_spacing_mm[1], 8)]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = _ds(window[0])
    ds.WindowWidth = _ds(window[1])
    ds.WindowCenterWidthExplanation = "SYNTHETIC"
    ds.LossyImageCompression = "00"
    ds.BurnedInAnnotation = "NO"
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    ds.DerivationDescription = (
        f"Synthetic lumbar MRI, seed {identity.seed}, generator {identity.generator_version}"
    )
    return ds


def write_instance(ds: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(str(path), enforce_file_format=True)


def _ds(value: float, digits: int = 6) -> str:
    """A DS string of at most 16 characters."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    while len(text) > 16 and digits > 0:
        digits -= 1
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text


def _time_plus(hhmmss: str, seconds: int) -> str:
    total = (int(hhmmss[:2]) * 3600 + int(hhmmss[2:4]) * 60 + int(hhmmss[4:6]) + seconds) % 86400
    return f"{total // 3600:02d}{total // 60 % 60:02d}{total % 60:02d}"

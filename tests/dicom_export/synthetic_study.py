"""A tiny but real MR study written with pydicom, and findings on it, for export and PACS tests.

Two single-frame MR Image Storage series (axial: 3 slices, sagittal: 3 slices, 64 x 64, 0.7 mm
pixels) in one frame of reference, loaded into the engine's Study/Series types, plus findings with
masks (one dural sac mask edited by a person) at three disc levels.
Loaded by the conftests of tests/dicom_export and tests/pacs from this file's path.
"""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from engine.findings import (
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

ROWS = COLUMNS = 64
PIXEL_SPACING_MM = 0.7
PATIENT = PatientInfo(name="Doe^Jane", patient_id="PID-4711", birth_date="19500102", sex="F")
PROVENANCE = Provenance(
    model_name="lss-tiny-test",
    model_version="0.0.1",
    model_sha256="ab" * 32,
    engine_version="0.1.0",
    parameters=(("threshold", "0.5"),),
)


def disc_mask(centre: tuple[float, float], radius: float) -> np.ndarray:
    """Bool (ROWS, COLUMNS) disc of `radius` pixels around (row, column) `centre`."""
    r, c = np.mgrid[0:ROWS, 0:COLUMNS]
    return (r - centre[0]) ** 2 + (c - centre[1]) ** 2 <= radius**2


def _write_slice(
    path: Path,
    *,
    study_uid: str,
    series_uid: str,
    frame_uid: str,
    series_number: int,
    series_description: str,
    instance_number: int,
    position: tuple[float, float, float],
    orientation: tuple[float, ...],
    pixels: np.ndarray,
) -> Dataset:
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = PATIENT.name
    ds.PatientID = PATIENT.patient_id
    ds.PatientBirthDate = PATIENT.birth_date
    ds.PatientSex = PATIENT.sex
    ds.PatientAge = "074Y"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20240315"
    ds.StudyTime = "101500"
    ds.StudyID = "S1"
    ds.AccessionNumber = "ACC-0815"
    ds.ReferringPhysicianName = "Referrer^Rita"
    ds.StudyDescription = "MR lumbar spine"
    ds.InstitutionName = "General Hospital"
    ds.Modality = "MR"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    ds.PatientPosition = "HFS"
    ds.BodyPartExamined = "LSPINE"
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "Synthetic"
    ds.InstanceNumber = instance_number
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.ContentDate = "20240315"
    ds.ContentTime = "101600"
    ds.PixelSpacing = [PIXEL_SPACING_MM, PIXEL_SPACING_MM]
    ds.ImageOrientationPatient = list(orientation)
    ds.ImagePositionPatient = list(position)
    ds.SliceThickness = 4.0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ROWS
    ds.Columns = COLUMNS
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = 3000.0
    ds.EchoTime = 100.0
    ds.EchoTrainLength = 16
    ds.MagneticFieldStrength = 1.5
    ds.ImagedNucleus = "1H"
    ds.WindowCenter = 500
    ds.WindowWidth = 1000
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds


def _load_pixels(image: ImageSlice) -> np.ndarray:
    ds = pydicom.dcmread(image.source_path)
    return ds.pixel_array.astype(np.float32) * image.rescale_slope + image.rescale_intercept


def _series(
    folder: Path,
    *,
    study_uid: str,
    frame_uid: str,
    series_number: int,
    description: str,
    orientation: Orientation,
    iops: list[tuple[float, ...]],
    positions: list[tuple[float, float, float]],
) -> Series:
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    slices = []
    for i, (position, iop) in enumerate(zip(positions, iops, strict=True)):
        pixels = (disc_mask((32, 36), 9) * 800 + 100 + i * 10).astype(np.uint16)
        path = folder / f"IM{i + 1:04d}.dcm"
        ds = _write_slice(
            path,
            study_uid=study_uid,
            series_uid=series_uid,
            frame_uid=frame_uid,
            series_number=series_number,
            series_description=description,
            instance_number=i + 1,
            position=position,
            orientation=iop,
            pixels=pixels,
        )
        slices.append(
            ImageSlice(
                sop_instance_uid=ds.SOPInstanceUID,
                source_path=path,
                frame_index=None,
                instance_number=i + 1,
                geometry=SliceGeometry(
                    position_lps=position,
                    row_direction=(iop[0], iop[1], iop[2]),
                    column_direction=(iop[3], iop[4], iop[5]),
                    pixel_spacing_mm=(PIXEL_SPACING_MM, PIXEL_SPACING_MM),
                    rows=ROWS,
                    columns=COLUMNS,
                    slice_thickness_mm=4.0,
                ),
            )
        )
    return Series(
        series_instance_uid=series_uid,
        study_instance_uid=study_uid,
        series_number=series_number,
        description=description,
        modality="MR",
        orientation=orientation,
        sequence=Sequence.T2,
        slices=tuple(slices),
        pixel_loader=_load_pixels,
        manufacturer="Synthetic",
        echo_time_ms=100.0,
        repetition_time_ms=3000.0,
    )


AXIAL_IOP = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
# The third axial slice tilted by 10 degrees about the left-right axis, as in a per-disc stack.
TILTED_AXIAL_IOP = (1.0, 0.0, 0.0, 0.0, 0.984808, 0.173648)
SAGITTAL_IOP = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def write_study(root: Path, *, angled: bool = False) -> Study:
    """Write the two series under `root` and return the Study describing them.

    angled: tilt the third axial slice, so the axial series is an angled stack.
    """
    study_uid = generate_uid()
    frame_uid = generate_uid()
    axial = _series(
        root / "axial",
        study_uid=study_uid,
        frame_uid=frame_uid,
        series_number=3,
        description="T2 AX",
        orientation=Orientation.AXIAL,
        iops=[AXIAL_IOP, AXIAL_IOP, TILTED_AXIAL_IOP if angled else AXIAL_IOP],
        positions=[(-22.0, -22.0, z) for z in (-10.0, -6.0, -2.0)],
    )
    sagittal = _series(
        root / "sagittal",
        study_uid=study_uid,
        frame_uid=frame_uid,
        series_number=2,
        description="T2 SAG",
        orientation=Orientation.SAGITTAL,
        iops=[SAGITTAL_IOP] * 3,
        positions=[(x, -22.0, 22.0) for x in (-2.0, 0.0, 2.0)],
    )
    return Study(
        study_instance_uid=study_uid,
        study_date="20240315",
        description="MR lumbar spine",
        accession_number="ACC-0815",
        patient=PATIENT,
        series=(sagittal, axial),
        set_aside=(),
        load_report=LoadReport(files_found=6, files_loaded=6),
        root=root,
    )


def _load_frame(image: ImageSlice) -> np.ndarray:
    ds = pydicom.dcmread(image.source_path)
    assert image.frame_index is not None
    return ds.pixel_array[image.frame_index].astype(np.float32)


def write_multiframe_study(root: Path) -> Study:
    """The axial series converted to one Legacy Converted Enhanced MR instance (3 frames)."""
    single = write_study(root / "single-frame")
    axial = single.find_series(Orientation.AXIAL)[0]
    legacy = [pydicom.dcmread(s.source_path) for s in axial.slices]
    enhanced = hd.legacy.LegacyConvertedEnhancedMRImage(
        legacy_datasets=legacy,
        series_instance_uid=generate_uid(),
        series_number=5,
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    path = root / "enhanced" / "MF0001.dcm"
    path.parent.mkdir(parents=True)
    enhanced.save_as(path, enforce_file_format=True)
    by_uid = {s.sop_instance_uid: s for s in axial.slices}
    slices = []
    for index, frame in enumerate(enhanced.PerFrameFunctionalGroupsSequence):
        source_uid = frame.ConversionSourceAttributesSequence[0].ReferencedSOPInstanceUID
        slices.append(
            ImageSlice(
                sop_instance_uid=enhanced.SOPInstanceUID,
                source_path=path,
                frame_index=index,
                instance_number=1,
                geometry=by_uid[source_uid].geometry,
            )
        )
    series = Series(
        series_instance_uid=enhanced.SeriesInstanceUID,
        study_instance_uid=single.study_instance_uid,
        series_number=5,
        description="T2 AX enhanced",
        modality="MR",
        orientation=Orientation.AXIAL,
        sequence=Sequence.T2,
        slices=tuple(slices),
        pixel_loader=_load_frame,
    )
    return Study(
        study_instance_uid=single.study_instance_uid,
        study_date=single.study_date,
        description=single.description,
        accession_number=single.accession_number,
        patient=PATIENT,
        series=(series,),
        set_aside=(),
        load_report=LoadReport(files_found=1, files_loaded=1),
        root=root,
    )


def _mask(series: Series, index: int, structure: str, mask: np.ndarray, edited: bool = False) -> SliceMask:
    return SliceMask(
        structure=structure,
        series_instance_uid=series.series_instance_uid,
        sop_instance_uid=series.slices[index].sop_instance_uid,
        frame_index=None,
        mask=mask,
        provenance=PROVENANCE,
        edited_by_person=edited,
    )


def make_findings(study: Study) -> StudyFindings:
    """Findings at L3-L4 and L4-L5 (with masks and measurements) and L5-S1 (grade only)."""
    sagittal = study.find_series(Orientation.SAGITTAL)[0]
    axial = study.find_series(Orientation.AXIAL)[0]
    dural_sac = [disc_mask((32, 36), r) for r in (9, 7, 8)]
    masks = [
        _mask(axial, 0, Structure.DURAL_SAC, dural_sac[0]),
        _mask(axial, 1, Structure.DURAL_SAC, dural_sac[1], edited=True),
        _mask(axial, 2, Structure.DURAL_SAC, dural_sac[2]),
        _mask(axial, 1, Structure.SPINAL_CANAL, disc_mask((32, 36), 12)),
        _mask(axial, 1, Structure.POSTERIOR_EPIDURAL_FAT, disc_mask((46, 36), 3)),
        _mask(sagittal, 1, Structure.VERTEBRA, disc_mask((20, 30), 6)),
        _mask(sagittal, 1, Structure.INTERVERTEBRAL_DISC, disc_mask((30, 30), 3)),
    ]
    area = {i: float(dural_sac[i].sum()) * PIXEL_SPACING_MM**2 for i in range(3)}
    ap = {i: float(dural_sac[i].any(axis=1).sum()) * PIXEL_SPACING_MM for i in range(3)}

    def finding(level: str, grade: SchizasGrade, index: int | None) -> LevelFinding:
        probabilities = tuple((g, 0.85 if g is grade else 0.05) for g in SchizasGrade)
        return LevelFinding(
            level=level,
            condition=Condition.CENTRAL_CANAL_STENOSIS,
            grade=grade,
            grade_probabilities=probabilities,
            dural_sac_area_mm2=None if index is None else area[index],
            ap_diameter_mm=None if index is None else ap[index],
            confidence=0.8,
            axial_series_uid=None if index is None else axial.series_instance_uid,
            key_slice_sop_instance_uid=None if index is None else axial.slices[index].sop_instance_uid,
            key_slice_frame_index=None,
            warnings=(),
            provenance=PROVENANCE,
            measured_on_edited_mask=index == 1,
        )

    levels = tuple(
        DiscLevel(
            label=label,
            centre_lps=(0.0, 0.0, z),
            normal_lps=(0.0, 0.0, 1.0),
            confidence=0.9,
            sagittal_series_uid=sagittal.series_instance_uid,
            sagittal_sop_instance_uid=sagittal.slices[1].sop_instance_uid,
        )
        for label, z in (("L3-L4", -10.0), ("L4-L5", -6.0), ("L5-S1", -2.0))
    )
    return StudyFindings(
        study_instance_uid=study.study_instance_uid,
        levels=levels,
        findings=(
            finding("L3-L4", SchizasGrade.A, 0),
            finding("L4-L5", SchizasGrade.C, 1),
            finding("L5-S1", SchizasGrade.B, None),
        ),
        masks=tuple(masks),
        provenance=PROVENANCE,
    )

"""What is not an MR image series is set aside with a reason, never loaded as one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import (
    BasicTextSRStorage,
    CTImageStorage,
    GrayscaleSoftcopyPresentationStateStorage,
    KeyObjectSelectionDocumentStorage,
    SecondaryCaptureImageStorage,
    SegmentationStorage,
)

from engine.study import IssueSeverity, list_studies, load_study


def _with_pixels(ds: pydicom.Dataset, bits: int = 16) -> pydicom.Dataset:
    ds.Rows, ds.Columns = 8, 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.PixelData = np.zeros((8, 8), dtype=np.uint16 if bits == 16 else np.uint8).tobytes()[
        : 8 * 8 * bits // 8
    ]
    return ds


@pytest.mark.parametrize(
    ("sop_class", "modality", "with_pixels", "expected"),
    [
        (BasicTextSRStorage, "SR", False, "structured report (SR)"),
        (GrayscaleSoftcopyPresentationStateStorage, "PR", False, "presentation state (PR)"),
        (KeyObjectSelectionDocumentStorage, "KO", False, "key object selection (KO)"),
        (SegmentationStorage, "SEG", True, "segmentation (SEG)"),
        (SecondaryCaptureImageStorage, "OT", True, "secondary capture"),
        (CTImageStorage, "CT", True, "CT object, not an MR image"),
    ],
)
def test_non_mr_objects_are_set_aside_with_a_reason(
    dicom_factory, sop_class, modality, with_pixels, expected
):
    spec, _ = dicom_factory.series(n_slices=3)
    ds = dicom_factory.non_image_dataset(spec.study_uid, sop_class, modality, f"{modality} object")
    if with_pixels:
        _with_pixels(ds, bits=8 if modality == "SEG" else 16)
    ds.save_as(dicom_factory.root / "study" / "other.dcm", enforce_file_format=True)
    study = load_study(dicom_factory.root)
    assert [len(s.slices) for s in study.series] == [3]
    (aside,) = study.set_aside
    assert expected in aside.reason
    assert aside.modality == modality and aside.file_count == 1
    assert study.load_report.issues == ()


def test_localizer_by_image_type(dicom_factory):
    main, _ = dicom_factory.series(n_slices=5)
    dicom_factory.series(
        "loc",
        n_slices=3,
        series_number=2,
        description="Ax",
        image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
        study_uid=main.study_uid,
    )
    study = load_study(dicom_factory.root)
    assert [s.description for s in study.series] == ["T2 SAG"]
    assert [a.reason for a in study.set_aside] == ["localizer (ImageType LOCALIZER)"]


@pytest.mark.parametrize(
    "description", ["3-Plane Loc", "SURVEY", "localizer", "AAHead_Scout", "T/S/C RF FAST PILOT"]
)
def test_localizer_by_description(dicom_factory, description):
    main, _ = dicom_factory.series(n_slices=5)
    dicom_factory.series(
        "loc", n_slices=3, series_number=2, description=description, study_uid=main.study_uid
    )
    study = load_study(dicom_factory.root)
    assert [s.description for s in study.series] == ["T2 SAG"]
    assert "localizer (series description" in study.set_aside[0].reason


def test_three_plane_scout_by_mixed_orientations_in_a_tiny_series(dicom_factory):
    main, _ = dicom_factory.series(n_slices=5)
    scout_uid = pydicom.uid.generate_uid()
    for plane, number in (("SAGITTAL", 1), ("CORONAL", 2), ("AXIAL", 3)):
        spec = dicom_factory.spec(
            n_slices=2,
            orientation=getattr(dicom_factory, plane),
            series_uid=scout_uid,
            study_uid=main.study_uid,
            series_number=100,
            description="Series 100",
        )
        dicom_factory.write_series(dicom_factory.root / "scout", spec, seed=number)
    study = load_study(dicom_factory.root)
    assert [s.description for s in study.series] == ["T2 SAG"]
    (aside,) = study.set_aside
    assert aside.reason == "localizer: 6 images in axial, coronal, sagittal planes"
    assert aside.file_count == 6


def test_one_localizer_image_inside_an_image_series_is_set_aside_alone(dicom_factory):
    _, written = dicom_factory.series(n_slices=5)
    ds = pydicom.dcmread(written[0].path)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.save_as(written[0].path)
    study = load_study(dicom_factory.root)
    assert len(study.series[0].slices) == 4
    (issue,) = study.load_report.issues
    assert issue.severity is IssueSeverity.SET_ASIDE
    assert issue.path == str(written[0].path)


def test_colour_mr_image_is_set_aside(dicom_factory):
    spec, _ = dicom_factory.series(n_slices=4)
    colour = dicom_factory.spec(
        n_slices=1, series_number=5, description="fused map", study_uid=spec.study_uid
    )
    (w,) = dicom_factory.write_series(dicom_factory.root / "map", colour)
    ds = pydicom.dcmread(w.path)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = np.zeros((64, 64, 3), dtype=np.uint8).tobytes()
    ds.save_as(w.path)
    study = load_study(dicom_factory.root)
    assert [s.description for s in study.series] == ["T2 SAG"]
    assert "colour image" in study.set_aside[0].reason


def test_pydicom_dicomdir_test_set_real_localizers_projections_and_other_modalities():
    """pydicom's bundled DICOMDIR set (3 patients, MR/CT/CR): read through its DICOMDIR."""
    root = Path(str(get_testdata_file("DICOMDIR", download=False))).parent
    studies = {s.description: s for s in list_studies(root)}
    assert {"Brain-MRA", "Brain", "Carotids", "XR C Spine Comp Min 4 Views"} <= set(studies)
    mra = load_study(root, study_instance_uid=studies["Brain-MRA"].study_instance_uid)
    assert mra.series == ()  # only scouts and projections in this study
    reasons = sorted(a.reason for a in mra.set_aside)
    assert reasons == [
        "localizer (series description 'FAST LOCALIZER')",
        "localizer (series description 'T/S/C RF FAST PILOT')",
        "projection image (MIP), not a slice stack",
    ]
    others = [i for i in mra.load_report.issues if "folder also holds study" in i.reason]
    assert len(others) == len(studies) - 1

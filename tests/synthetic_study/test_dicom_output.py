"""The synthetic study is valid DICOM whose geometry matches the ground truth."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from pydicom.uid import MRImageStorage

from engine.synthetic_study import GroundTruth

from .conftest import dicom_files


@pytest.mark.parametrize("study", ["angled_study", "continuous_study"])
def test_every_file_is_an_mr_image_of_one_study_with_three_series(
    study: str, request: pytest.FixtureRequest
) -> None:
    gt: GroundTruth = request.getfixturevalue(study)
    files = dicom_files(gt.root)
    datasets = [pydicom.dcmread(str(f)) for f in files]
    assert {ds.SOPClassUID for ds in datasets} == {MRImageStorage}
    assert {ds.StudyInstanceUID for ds in datasets} == {gt.study_instance_uid}
    assert {str(ds.PatientName) for ds in datasets} == {"DEMO^LUMBAR"}
    assert {ds.PatientID for ds in datasets} == {f"DEMO-{gt.seed:06d}"}
    assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
    by_series = {s.series_instance_uid: s for s in gt.series}
    assert {ds.SeriesInstanceUID for ds in datasets} == set(by_series)
    assert len(datasets) == sum(len(s.sop_instance_uids) for s in gt.series)
    assert len({ds.SOPInstanceUID for ds in datasets}) == len(datasets)
    for ds in datasets:
        assert ds.BitsStored == 12 and int(ds.pixel_array.max()) <= 4095
        assert float(ds.WindowWidth) > 0 and float(ds.EchoTime) > 0 and float(ds.RepetitionTime) > 0
        series = by_series[ds.SeriesInstanceUID]
        assert ds.SeriesDescription == series.description
        te, tr = float(ds.EchoTime), float(ds.RepetitionTime)
        assert (te > 60 and tr > 2000) if series.sequence == "T2" else (te < 20 and tr < 1000)


def test_file_order_says_nothing_about_slice_order(angled_study: GroundTruth) -> None:
    datasets = [pydicom.dcmread(str(f), stop_before_pixels=True) for f in dicom_files(angled_study.root)]
    series = angled_study.find_series("sagittal", "T2")
    numbers = [
        int(ds.InstanceNumber) for ds in datasets if ds.SeriesInstanceUID == series.series_instance_uid
    ]
    assert numbers != sorted(numbers)


@pytest.mark.parametrize("study", ["angled_study", "continuous_study"])
def test_dicom_geometry_matches_the_ground_truth_slices_and_masks(
    study: str, request: pytest.FixtureRequest
) -> None:
    gt: GroundTruth = request.getfixturevalue(study)
    datasets = {}
    for f in dicom_files(gt.root):
        ds = pydicom.dcmread(str(f), stop_before_pixels=True)
        datasets[ds.SOPInstanceUID] = ds
    for series in gt.series:
        mask = gt.load_mask(series)
        assert mask.shape[0] == len(series.sop_instance_uids) == len(series.slice_geometry)
        normals = []
        for k, geom in enumerate(series.slice_geometry):
            ds = datasets[geom.sop_instance_uid]
            assert geom.sop_instance_uid == series.sop_instance_uids[k]
            assert mask.shape[1:] == (ds.Rows, ds.Columns)
            np.testing.assert_allclose(
                [float(x) for x in ds.ImagePositionPatient], geom.image_position_patient, atol=1e-3
            )
            np.testing.assert_allclose(
                [float(x) for x in ds.ImageOrientationPatient], geom.image_orientation_patient, atol=1e-6
            )
            iop = np.asarray(geom.image_orientation_patient)
            normals.append(np.cross(iop[:3], iop[3:]))
        # mask slices ascend along the mean slice normal
        mean = np.sum(normals, axis=0)
        positions = [float(np.dot(g.image_position_patient, mean)) for g in series.slice_geometry]
        assert positions == sorted(positions)


def test_mask_affine_follows_the_dcm2niix_convention(continuous_study: GroundTruth) -> None:
    import nibabel as nib

    series = continuous_study.find_series("axial", "T2")
    img = nib.load(str(continuous_study.root / "ground_truth" / series.mask_file))
    first, last = series.slice_geometry[0], series.slice_geometry[-1]
    ras = np.diag([-1.0, -1.0, 1.0])
    np.testing.assert_allclose(img.affine[:3, 3], ras @ np.asarray(first.image_position_patient), atol=1e-3)
    k_last = np.asarray(img.shape[:3]) - 1
    corner = img.affine @ np.array([0, 0, k_last[2], 1.0])
    np.testing.assert_allclose(corner[:3], ras @ np.asarray(last.image_position_patient), atol=1e-3)
    row_dir = np.asarray(first.image_orientation_patient[:3])
    np.testing.assert_allclose(img.affine[:3, 0], ras @ row_dir * series.pixel_spacing_mm[1], atol=1e-6)


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools (dciodvfy) is not installed")
def test_dciodvfy_reports_no_errors(angled_study: GroundTruth) -> None:
    files = dicom_files(angled_study.root)
    for f in files[:: max(len(files) // 6, 1)]:
        out = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True, check=False)
        text = out.stdout + out.stderr
        assert "Error" not in text, f"{f.name}: {text}"

"""pydicom's bundled MR files (every variant in the wheel) load with pydicom's own pixel values.

The wheel ships these MR files: MR_small.dcm and its re-encodings (_RLE, _bigendian, _expb,
_implicit, _jp2klossless, _jpeg_ls_lossless, _padded), MR_truncated.dcm and
examples_overlay.dcm (Siemens MPR with overlays); emri_small*, MR-SIEMENS-DICOM-WithOverlays and
the other MR files of pydicom-data are download-only, and tests never download.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from engine.study import IssueSeverity, Orientation, Sequence, load_study
from engine.study.header import _read_with_pydicom, read_instance_header

MR_SMALL_VARIANTS = [
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_padded.dcm",
]


def _bundled(name: str) -> Path:
    found = get_testdata_file(name, download=False)
    assert found is not None, f"{name} is not in the pydicom wheel"
    return Path(str(found))


def _pydicom_pixels(path: Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return ds.pixel_array.astype(np.float64) * slope + intercept


@pytest.mark.parametrize("name", MR_SMALL_VARIANTS)
def test_every_mr_small_variant_loads_with_pydicoms_pixels(name):
    path = _bundled(name)
    study = load_study(path)
    (series,) = study.series
    assert len(series.slices) == 1
    assert series.orientation is Orientation.AXIAL
    # TR 4000 ms / TE 240 ms spin echo, no description: T2 by timing.
    assert series.sequence is Sequence.T2
    pixels = series.slice_pixels(0)
    assert pixels.dtype == np.float32 and pixels.shape == (64, 64)
    np.testing.assert_array_equal(pixels, _pydicom_pixels(path))
    geometry = series.slices[0].geometry
    assert geometry is not None
    assert geometry.position_lps == pytest.approx((-83.9063, -91.2, 6.6406))
    assert study.load_report.issues == ()
    assert study.patient.name  # read for reports...
    assert study.patient.name not in repr(study.patient)  # ...but never shown in a repr


def test_mr_small_variants_in_one_folder_are_duplicates_of_one_instance(tmp_path):
    for name in MR_SMALL_VARIANTS:
        shutil.copy(_bundled(name), tmp_path / name)
    study = load_study(tmp_path)
    (series,) = study.series
    assert len(series.slices) == 1
    duplicates = [i for i in study.load_report.issues if "duplicate SOPInstanceUID" in i.reason]
    assert len(duplicates) == len(MR_SMALL_VARIANTS) - 1
    assert all(i.severity is IssueSeverity.SKIPPED for i in duplicates)
    assert study.load_report.files_found == len(MR_SMALL_VARIANTS)
    assert study.load_report.files_loaded == 1


def test_mr_truncated_is_reported_and_the_rest_loads(tmp_path):
    shutil.copy(_bundled("MR_truncated.dcm"), tmp_path / "truncated.dcm")
    shutil.copy(_bundled("MR_small_RLE.dcm"), tmp_path / "good")
    study = load_study(tmp_path)
    assert [len(s.slices) for s in study.series] == [1]
    (issue,) = study.load_report.issues
    assert issue.path.endswith("truncated.dcm")
    assert issue.severity is IssueSeverity.SKIPPED
    assert "truncated" in issue.reason


def test_siemens_mpr_with_overlays_loads():
    path = _bundled("examples_overlay.dcm")
    study = load_study(path)
    (series,) = study.series
    assert series.slices[0].geometry is not None
    assert series.matrix == (300, 484)
    np.testing.assert_array_equal(series.slice_pixels(0), _pydicom_pixels(path))


def _all_bundled_files() -> list[Path]:
    folder = _bundled("MR_small.dcm").parent
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_fast_header_walker_agrees_with_pydicom_on_every_bundled_file():
    """The fast path and pydicom's reader give the same header (or both reject the file)."""
    compared = 0
    for path in _all_bundled_files():
        try:
            fast = read_instance_header(path)
        except Exception as exc:
            fast = type(exc).__name__
        try:
            slow = _read_with_pydicom(path)
        except Exception as exc:
            slow = type(exc).__name__
        if isinstance(fast, str) or isinstance(slow, str):
            assert fast == slow, path.name
            continue
        assert dataclasses.asdict(fast) == dataclasses.asdict(slow), path.name
        compared += 1
    assert compared > 40


@pytest.mark.parametrize("implicit", [False, True])
def test_fast_header_walker_agrees_with_pydicom_on_bulky_generated_headers(dicom_factory, implicit):
    """Private tags, big private blobs, nested sequences of both length encodings, implicit VR."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence as DicomSequence

    _, written = dicom_factory.series(n_slices=2, description="AX T2 ÄÖ", rescale=(1.5, -2.0))
    for w in written:
        ds = pydicom.dcmread(w.path)
        ds.add_new((0x0019, 0x0010), "LO", "VENDOR")
        for k in range(30):
            ds.add_new((0x0019, 0x1010 + k), "LO", f"private {k}")
        ds.add_new((0x0029, 0x1010), "OB", bytes(range(256)) * 300)  # 75 kB: beyond the first read
        inner = Dataset()
        inner.CodeValue, inner.CodingSchemeDesignator = "123", "LOCAL"
        item = Dataset()
        item.ReferencedSOPInstanceUID = pydicom.uid.generate_uid()
        item.PurposeOfReferenceCodeSequence = DicomSequence([inner])
        ds.ReferencedImageSequence = DicomSequence([item, item])
        ds["ReferencedImageSequence"].is_undefined_length = True
        ds.ProcedureCodeSequence = DicomSequence([inner])
        ds["ProcedureCodeSequence"].is_undefined_length = False
        ds.file_meta.TransferSyntaxUID = (
            pydicom.uid.ImplicitVRLittleEndian if implicit else pydicom.uid.ExplicitVRLittleEndian
        )
        pydicom.dcmwrite(w.path, ds, implicit_vr=implicit, little_endian=True, enforce_file_format=True)
        fast, slow = read_instance_header(w.path), _read_with_pydicom(w.path)
        assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
        assert fast.series_description == "AX T2 ÄÖ"
        assert fast.pixels is not None and fast.pixels.native_offset > 75_000
    series = load_study(dicom_factory.root).series[0]
    index = series.slice_index_by_uid(written[0].sop_instance_uid)
    expected = dicom_factory.expected_pixels(
        dicom_factory.spec(rescale=(1.5, -2.0)), written[0].spatial_index
    )
    np.testing.assert_array_equal(series.slice_pixels(index), expected)

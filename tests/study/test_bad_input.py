"""Bad input never stops the study: each problem is one load-report line, the rest loads."""

from __future__ import annotations

import shutil

import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless

from engine.study import IssueSeverity, NoDicomFoundError, load_study


def _issues_by_path(study) -> dict[str, list]:
    found: dict[str, list] = {}
    for issue in study.load_report.issues:
        found.setdefault(issue.path, []).append(issue)
    return found


def test_a_folder_of_mixed_bad_files_loads_the_good_ones(dicom_factory):
    _, written = dicom_factory.series(n_slices=6)
    folder = written[0].path.parent
    # Truncated in the middle of the pixel data.
    truncated = folder / "truncated"
    data = written[0].path.read_bytes()
    truncated.write_bytes(data[: len(data) - 1000])
    written[0].path.unlink()
    # Valid header, no pixel data.
    no_pixels = folder / "no_pixels.dcm"
    ds = pydicom.dcmread(written[1].path)
    del ds.PixelData
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(no_pixels)
    # Not DICOM at all, and an empty file.
    (folder / "notes.txt").write_text("radiology notes, not DICOM\n")
    (folder / "empty").write_bytes(b"")
    # Duplicate SOP instance under another name.
    duplicate = folder / "zz_copy"
    shutil.copy(written[2].path, duplicate)

    study = load_study(dicom_factory.root)
    (series,) = study.series
    assert len(series.slices) == 5
    issues = _issues_by_path(study)
    assert "truncated" in issues[str(truncated)][0].reason
    assert issues[str(no_pixels)][0].reason == "no pixel data"
    assert issues[str(folder / "notes.txt")][0].reason == "not a DICOM file"
    assert str(folder / "empty") in issues
    assert "duplicate SOPInstanceUID" in issues[str(duplicate)][0].reason
    assert all(i.severity is IssueSeverity.SKIPPED for i in study.load_report.issues)
    assert study.load_report.files_found == 10
    assert study.load_report.files_loaded == 5


def test_truncated_compressed_file_is_reported_at_scan_time(dicom_factory):
    _, written = dicom_factory.series(n_slices=3, compress_to=JPEG2000Lossless)
    data = written[0].path.read_bytes()
    written[0].path.write_bytes(data[: len(data) - 200])
    study = load_study(dicom_factory.root)
    assert len(study.series[0].slices) == 2
    (issue,) = study.load_report.issues
    assert issue.path == str(written[0].path)
    assert "truncated" in issue.reason


def test_file_cut_inside_the_header_is_reported(dicom_factory):
    _, written = dicom_factory.series(n_slices=3)
    data = written[0].path.read_bytes()
    written[0].path.write_bytes(data[:400])
    study = load_study(dicom_factory.root)
    assert len(study.series[0].slices) == 2
    assert study.load_report.issues[0].path == str(written[0].path)


def test_stray_slice_with_another_matrix_is_dropped_with_a_line(dicom_factory):
    spec, _ = dicom_factory.series(n_slices=6)
    stray_spec = dicom_factory.spec(
        rows=32, columns=32, series_uid=spec.series_uid, study_uid=spec.study_uid, n_slices=1
    )
    (stray,) = dicom_factory.write_series(dicom_factory.root / "study", stray_spec, seed=7)
    study = load_study(dicom_factory.root)
    (series,) = study.series
    assert len(series.slices) == 6 and series.matrix == (64, 64)
    (issue,) = study.load_report.issues
    assert issue.path == str(stray.path)
    assert issue.severity is IssueSeverity.SKIPPED
    assert "32x32" in issue.reason and "64x64" in issue.reason


def test_series_holding_two_stacks_is_split_into_two_series(dicom_factory):
    spec, _ = dicom_factory.series(n_slices=5)
    other = dicom_factory.spec(
        n_slices=4, pixel_spacing=(1.2, 1.2), series_uid=spec.series_uid, study_uid=spec.study_uid
    )
    dicom_factory.write_series(dicom_factory.root / "study", other, seed=9)
    study = load_study(dicom_factory.root)
    assert [(len(s.slices), s.split_part, s.pixel_spacing_mm) for s in study.series] == [
        (5, 1, (0.8, 0.8)),
        (4, 2, (1.2, 1.2)),
    ]
    assert len({s.key for s in study.series}) == 2
    assert {s.series_instance_uid for s in study.series} == {spec.series_uid}
    (issue,) = study.load_report.issues
    assert issue.severity is IssueSeverity.WARNING
    assert "2 stacks" in issue.reason


def test_dual_echo_series_splits_by_echo_time(dicom_factory):
    spec, _ = dicom_factory.series(n_slices=4, echo_time=15.0, description="PD+T2 SAG")
    dicom_factory.write_series(
        dicom_factory.root / "study",
        dicom_factory.spec(n_slices=4, echo_time=100.0, series_uid=spec.series_uid, study_uid=spec.study_uid),
        seed=3,
    )
    study = load_study(dicom_factory.root)
    assert sorted(s.echo_time_ms for s in study.series) == [15.0, 100.0]


def test_slices_sharing_a_position_are_kept_with_a_warning(dicom_factory):
    _, written = dicom_factory.series(n_slices=4)
    ds = pydicom.dcmread(written[0].path)
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.InstanceNumber = 99
    ds.save_as(written[0].path.parent / "repeat")
    study = load_study(dicom_factory.root)
    assert len(study.series[0].slices) == 5
    assert any("2 slices share a position" in i.reason for i in study.load_report.issues)


def test_folder_without_dicom_raises_no_dicom_found(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00" * 300)
    with pytest.raises(NoDicomFoundError, match="2 not a DICOM file"):
        load_study(tmp_path)


def test_empty_folder_and_missing_path_raise_no_dicom_found(tmp_path):
    with pytest.raises(NoDicomFoundError, match="no files"):
        load_study(tmp_path)
    with pytest.raises(NoDicomFoundError, match="does not exist"):
        load_study(tmp_path / "nope")


def test_folder_with_only_a_structured_report_raises_no_dicom_found(dicom_factory, tmp_path):
    ds = dicom_factory.non_image_dataset(
        pydicom.uid.generate_uid(), pydicom.uid.BasicTextSRStorage, "SR", "report"
    )
    ds.save_as(tmp_path / "sr.dcm", enforce_file_format=True)
    with pytest.raises(NoDicomFoundError, match="1 SR"):
        load_study(tmp_path)

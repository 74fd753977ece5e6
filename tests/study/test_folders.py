"""Folders: recursion, DICOMDIR, several studies, progress, cancellation, no patient data in logs."""

from __future__ import annotations

import logging
import threading

import pydicom
import pytest
from pydicom.fileset import FileSet

from engine.study import (
    IssueSeverity,
    Orientation,
    StudyNotFoundError,
    list_studies,
    load_study,
)


def _two_series_study(factory, subfolder="study", **overrides):
    sag, _ = factory.series(subfolder + "/sag", n_slices=4, **overrides)
    factory.series(
        subfolder + "/deeper/ax",
        n_slices=3,
        series_number=2,
        description="T2 AX",
        orientation=factory.AXIAL,
        study_uid=sag.study_uid,
    )
    return sag


def test_nested_folders_with_and_without_dcm_suffix(dicom_factory):
    sag, _ = dicom_factory.series("a/b/c", n_slices=3)
    dicom_factory.write_series(
        dicom_factory.root / "x",
        dicom_factory.spec(n_slices=2, series_number=2, description="T1 SAG", study_uid=sag.study_uid),
        names="dcm",
    )
    (dicom_factory.root / "a" / ".DS_Store").write_bytes(b"\x00junk")  # hidden: skipped silently
    study = load_study(dicom_factory.root)
    assert [(s.description, len(s.slices)) for s in study.series] == [("T2 SAG", 3), ("T1 SAG", 2)]
    assert study.load_report.issues == ()
    assert study.load_report.files_found == 5


def test_single_file_path(dicom_factory):
    _, written = dicom_factory.series(n_slices=3)
    study = load_study(written[1].path)
    assert len(study.series[0].slices) == 1
    assert study.root == written[1].path


def test_dicomdir_is_the_index_of_the_media(dicom_factory, tmp_path):
    sag = _two_series_study(dicom_factory)
    media = tmp_path / "cd"
    file_set = FileSet()
    for path in sorted((dicom_factory.root / "study").rglob("*")):
        if path.is_file():
            file_set.add(pydicom.dcmread(path))
    file_set.write(media)
    (media / "viewer.exe").write_bytes(b"MZ not dicom")  # viewers on a CD are not in the index
    (media / "AUTORUN.INF").write_text("[autorun]\n")
    study = load_study(media)
    assert study.study_instance_uid == sag.study_uid
    assert [len(s.slices) for s in study.series] == [4, 3]
    assert study.load_report.issues == ()
    assert study.load_report.files_found == 7

    # A referenced file that is missing is reported; the rest loads.
    referenced = sorted(p for p in media.rglob("*") if p.is_file() and p.parent != media)
    referenced[0].unlink()
    study = load_study(media / "DICOMDIR")
    assert sum(len(s.slices) for s in study.series) == 6
    (issue,) = study.load_report.issues
    assert issue.reason == "listed in DICOMDIR but missing"
    assert issue.severity is IssueSeverity.SKIPPED


def test_unreadable_dicomdir_falls_back_to_walking_the_folder(dicom_factory):
    _two_series_study(dicom_factory)
    (dicom_factory.root / "study" / "DICOMDIR").write_text("this is not a DICOMDIR")
    study = load_study(dicom_factory.root)
    assert [len(s.slices) for s in study.series] == [4, 3]
    (issue,) = study.load_report.issues
    assert issue.reason == "DICOMDIR references no readable file; the folder is searched instead"
    assert issue.severity is IssueSeverity.WARNING


def test_several_studies_pick_the_one_with_most_mr_images_and_name_the_others(dicom_factory):
    big = _two_series_study(dicom_factory, "big", study_description="LSPINE 2026")
    small, _ = dicom_factory.series("small", n_slices=2, study_description="KNEE")
    study = load_study(dicom_factory.root)
    assert study.study_instance_uid == big.study_uid
    (line,) = [i for i in study.load_report.issues if "also holds study" in i.reason]
    assert small.study_uid in line.reason and "'KNEE'" in line.reason
    assert "Secret" not in line.reason and "PID-0042" not in line.reason
    assert study.load_report.files_found == 9 and study.load_report.files_loaded == 7

    chosen = load_study(dicom_factory.root, study_instance_uid=small.study_uid)
    assert chosen.study_instance_uid == small.study_uid and len(chosen.series[0].slices) == 2

    with pytest.raises(StudyNotFoundError, match=big.study_uid):
        load_study(dicom_factory.root, study_instance_uid="1.2.3.4")

    summaries = list_studies(dicom_factory.root)
    assert [(s.study_instance_uid, s.mr_image_count, s.series_count) for s in summaries] == [
        (big.study_uid, 7, 2),
        (small.study_uid, 2, 1),
    ]
    assert summaries[1].description == "KNEE" and summaries[1].modalities == ("MR",)


def test_progress_is_reported_for_every_file_on_the_calling_thread(dicom_factory):
    _two_series_study(dicom_factory)
    (dicom_factory.root / "study" / "junk.txt").write_text("x")
    calls = []
    caller = threading.get_ident()
    load_study(
        dicom_factory.root, progress=lambda done, total: calls.append((done, total, threading.get_ident()))
    )
    assert [(d, t) for d, t, _ in calls] == [(i, 8) for i in range(1, 9)]
    assert {thread for _, _, thread in calls} == {caller}


def test_cancel_returns_what_was_loaded_with_cancelled_flag(dicom_factory):
    dicom_factory.series(n_slices=12)
    cancel = threading.Event()

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            cancel.set()

    study = load_study(dicom_factory.root, progress=stop_after_three, cancel=cancel, max_workers=1)
    report = study.load_report
    assert report.cancelled
    assert report.files_found == 12
    loaded = sum(len(s.slices) for s in study.series)
    assert 3 <= loaded < 12
    assert report.files_loaded == loaded
    assert study.series[0].orientation is Orientation.SAGITTAL


def test_cancel_before_start_returns_an_empty_cancelled_study(dicom_factory):
    dicom_factory.series(n_slices=3)
    cancel = threading.Event()
    cancel.set()
    study = load_study(dicom_factory.root, cancel=cancel)
    assert study.load_report.cancelled
    assert study.series == ()


def test_patient_data_never_reaches_the_log(dicom_factory, caplog):
    _two_series_study(dicom_factory)
    (dicom_factory.root / "study" / "bad.dcm").write_bytes(b"junk")
    with caplog.at_level(logging.DEBUG, logger="engine"):
        study = load_study(dicom_factory.root)
        study.series[0].volume()
    assert caplog.records  # the loader does log
    assert study.patient.name == "Secret^Patient"
    for record in caplog.records:
        text = record.getMessage()
        assert "Secret" not in text and "PID-0042" not in text and "19600101" not in text

"""Integration with a real Orthanc on loopback: echo, store SEG/SR/PDF + MR, find, get, errors."""

from __future__ import annotations

import dataclasses
import logging
import threading

import highdicom as hd
import pydicom
import pytest
from reportlab.pdfgen import canvas

from engine.export.dicom_objects import export_dicom_objects
from engine.pacs.echo import echo
from engine.pacs.errors import (
    AssociationRejectedError,
    InstancesNotStoredError,
    OperationCancelledError,
    PacsUnreachableError,
    RetrieveIncompleteError,
)
from engine.pacs.node import PacsNode
from engine.pacs.query import StudyQuery, find_series, find_studies
from engine.pacs.retrieve import retrieve_study
from engine.pacs.store import store_files


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    page = canvas.Canvas(str(path))
    page.drawString(72, 720, "LSS Desktop test report")
    page.save()
    return path.read_bytes()


@pytest.fixture(scope="module")
def stored(orthanc, study, findings, pdf_bytes, tmp_path_factory):
    """The study's 6 MR images plus its 2 SEG, SR and PDF, stored on Orthanc once per module."""
    exported = export_dicom_objects(study, findings, tmp_path_factory.mktemp("export"), pdf_bytes=pdf_bytes)
    images = [image.source_path for series in study.series for image in series.slices]
    progress = []
    report = store_files(orthanc.node, [*images, *exported], progress=progress.append)
    return report, exported, progress


def test_echo_answers(orthanc):
    assert echo(orthanc.node) >= 0.0


def test_a_wrong_called_ae_title_is_rejected_with_the_reason(orthanc):
    wrong = dataclasses.replace(orthanc.node, ae_title="NOT_ORTHANC")
    with pytest.raises(AssociationRejectedError) as caught:
        echo(wrong)
    assert "Called AE title not recognised" in caught.value.reason
    assert "NOT_ORTHANC@127.0.0.1" in str(caught.value)


def test_store_seg_sr_pdf_and_mr_images(orthanc, stored):
    report, _, progress = stored
    assert len(report.outcomes) == 10
    assert all(o.status == 0x0000 and o.meaning == "Success" for o in report.outcomes)
    assert progress[-1].completed == 10 and progress[-1].total == 10 and progress[-1].failed == 0
    assert len(orthanc.rest("/instances")) == 10
    modalities = {orthanc.rest(f"/series/{s}")["MainDicomTags"]["Modality"] for s in orthanc.rest("/series")}
    assert modalities == {"MR", "SEG", "SR", "DOC"}


def test_find_studies_by_patient_id_accession_and_date(orthanc, stored, study):
    for query in (
        StudyQuery(patient_id=study.patient.patient_id),
        StudyQuery(accession_number=study.accession_number),
        StudyQuery(study_date="20240301-20240331"),
        StudyQuery(patient_name="DOE^*"),
    ):
        (match,) = find_studies(orthanc.node, query)
        assert match.study_instance_uid == study.study_instance_uid
        assert match.patient_id == study.patient.patient_id
        assert match.study_date == "20240315"
        assert match.instance_count == 10
        assert set(match.modalities) == {"MR", "SEG", "SR", "DOC"}
    assert find_studies(orthanc.node, StudyQuery(patient_id="NOBODY")) == ()
    assert find_studies(orthanc.node, StudyQuery(study_date="20250101-")) == ()


def test_find_series_of_the_study(orthanc, stored, study):
    series = find_series(orthanc.node, study.study_instance_uid)
    assert [(s.series_number, s.modality, s.instance_count) for s in series] == [
        (2, "MR", 3),
        (3, "MR", 3),
        (103, "SEG", 1),
        (104, "SEG", 1),
        (105, "SR", 1),
        (106, "DOC", 1),
    ]


def test_get_the_study_into_a_folder_and_read_it_back(orthanc, stored, study, pdf_bytes, tmp_path):
    report, _, _ = stored
    progress = []
    retrieved = retrieve_study(
        orthanc.node, study.study_instance_uid, tmp_path / "in", progress=progress.append
    )

    assert (retrieved.completed, retrieved.failed) == (10, 0)
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == sorted(p.name for p in retrieved.files)
    datasets = {p.name: pydicom.dcmread(p) for p in retrieved.files}
    assert {ds.SOPInstanceUID for ds in datasets.values()} == {o.sop_instance_uid for o in report.outcomes}
    for ds in datasets.values():
        assert ds.StudyInstanceUID == study.study_instance_uid
        if ds.Modality == "MR":
            assert ds.pixel_array.shape == (64, 64)
    segs = [hd.seg.segread(p) for p in retrieved.files if datasets[p.name].Modality == "SEG"]
    assert sorted(len(s.SegmentSequence) for s in segs) == [2, 3]
    pdf = next(ds for ds in datasets.values() if ds.Modality == "DOC")
    assert bytes(pdf.EncapsulatedDocument)[: pdf.EncapsulatedDocumentLength] == pdf_bytes
    assert progress and progress[-1].total == 10


def test_get_one_series_only(orthanc, stored, study, tmp_path):
    axial = study.series[1]
    retrieved = retrieve_study(
        orthanc.node,
        study.study_instance_uid,
        tmp_path / "axial",
        series_instance_uids=[axial.series_instance_uid],
    )
    assert {pydicom.dcmread(p).SOPInstanceUID for p in retrieved.files} == {
        s.sop_instance_uid for s in axial.slices
    }


def test_get_can_be_cancelled_and_keeps_what_arrived(orthanc, stored, study, tmp_path):
    cancel = threading.Event()
    with pytest.raises(OperationCancelledError) as caught:
        retrieve_study(
            orthanc.node,
            study.study_instance_uid,
            tmp_path / "cancel",
            progress=lambda p: cancel.set(),
            cancel=cancel,
        )
    partial = caught.value.partial
    assert 1 <= len(partial.files) < 10
    for path in partial.files:
        assert pydicom.dcmread(path).StudyInstanceUID == study.study_instance_uid
    assert echo(orthanc.node) >= 0.0  # the node is fine after the abort


def test_get_of_an_unknown_study_fails_with_the_status_meaning(orthanc, stored, tmp_path):
    # Orthanc answers an unknown study with 0xC000; the error carries the code and its meaning.
    with pytest.raises(RetrieveIncompleteError, match=r"status 0xC000 \(Unable to Process\)") as caught:
        retrieve_study(orthanc.node, "1.2.3.4.5.6.7.8.9", tmp_path / "none")
    assert caught.value.report.files == ()


def test_send_goes_on_past_an_unreadable_file_and_reports_it(orthanc, stored, study, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not DICOM")
    image = study.series[0].slices[0].source_path
    with pytest.raises(InstancesNotStoredError) as caught:
        store_files(orthanc.node, [junk, image])
    report = caught.value.report
    assert [o.path for o in report.stored] == [image]
    (failed,) = report.failed
    assert failed.path == junk and failed.status is None and "not a readable DICOM file" in failed.meaning


@pytest.mark.parametrize("host", ["127.0.0.1", "no-such-host.invalid"])
def test_nothing_listening_or_unknown_host_is_unreachable(unused_port, host):
    node = PacsNode(ae_title="NOBODY", host=host, port=unused_port, timeout_s=2)
    with pytest.raises(PacsUnreachableError, match=f"cannot connect to {host}"):
        echo(node)


def test_logs_at_info_level_hold_no_patient_identifiers(orthanc, stored, study, tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        find_studies(orthanc.node, StudyQuery(patient_id=study.patient.patient_id))
        find_series(orthanc.node, study.study_instance_uid)
        retrieve_study(orthanc.node, study.study_instance_uid, tmp_path / "logged")
    assert caplog.records  # pynetdicom and engine did log
    for text in (study.patient.patient_id, "Doe", "19500102", study.accession_number):
        assert text not in caplog.text

"""Encapsulated PDF: valid per dciodvfy, even-length document, patient/study of the source study."""

from __future__ import annotations

from datetime import datetime

import pydicom
import pytest
from reportlab.pdfgen import canvas

from engine.export.dicom_pdf import build_encapsulated_pdf
from engine.export.errors import DicomExportError
from engine.export.signer import ReportSigner
from engine.export.source_images import read_source_header


def _pdf(tmp_path, text="LSS Desktop report") -> bytes:
    path = tmp_path / "report.pdf"
    page = canvas.Canvas(str(path))
    page.drawString(72, 720, text)
    page.save()
    return path.read_bytes()


def _saved(ds, tmp_path):
    path = tmp_path / "pdf.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("extra", [b"", b"\n"], ids=["as-rendered", "other-parity"])
def test_encapsulated_pdf_is_valid_and_holds_the_exact_document(study, tmp_path, dciodvfy, extra):
    pdf = _pdf(tmp_path) + extra
    key = read_source_header(study.series[1].slices[1])
    ds = build_encapsulated_pdf(study, pdf, series_number=120, source_instances=[key])
    path = _saved(ds, tmp_path)

    assert dciodvfy(path) == []
    reread = pydicom.dcmread(path)
    assert reread.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1"
    document = bytes(reread.EncapsulatedDocument)
    assert len(document) % 2 == 0
    assert reread.EncapsulatedDocumentLength == len(pdf)
    assert document[: len(pdf)] == pdf
    assert document[len(pdf) :] in (b"", b"\x00")
    assert reread.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert reread.DocumentTitle == "MRI lumbar spine report"
    assert reread.Modality == "DOC"
    assert reread.SeriesNumber == 120
    assert reread.SourceInstanceSequence[0].ReferencedSOPInstanceUID == key.SOPInstanceUID
    assert reread.VerificationFlag == "UNVERIFIED"


def test_patient_and_study_come_from_the_source_study_in_a_new_series(study, tmp_path):
    ds = build_encapsulated_pdf(study, _pdf(tmp_path), series_number=120)
    reread = pydicom.dcmread(_saved(ds, tmp_path))
    assert reread.StudyInstanceUID == study.study_instance_uid
    assert str(reread.PatientName) == study.patient.name
    assert reread.PatientID == study.patient.patient_id
    assert reread.PatientBirthDate == study.patient.birth_date
    assert reread.AccessionNumber == study.accession_number
    assert reread.StudyTime == "101500"
    assert reread.SeriesInstanceUID not in {s.series_instance_uid for s in study.series}


def test_signed_pdf_is_verified(study, tmp_path):
    signer = ReportSigner("Reader^Rosa", "General Hospital", datetime(2024, 3, 16, 9, 30))
    ds = build_encapsulated_pdf(study, _pdf(tmp_path), series_number=1, signer=signer)
    assert ds.VerificationFlag == "VERIFIED"


def test_bytes_that_are_not_a_pdf_are_refused(study):
    with pytest.raises(DicomExportError, match="not a PDF"):
        build_encapsulated_pdf(study, b"<html></html>", series_number=1)

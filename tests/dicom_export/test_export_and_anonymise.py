"""export_dicom_objects: the files it writes, and the anonymised export's identifiers and references."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pydicom
import pytest
from reportlab.pdfgen import canvas

from engine.export.anonymise import Anonymiser
from engine.export.dicom_objects import export_dicom_objects
from engine.export.errors import DicomExportError
from engine.export.signer import ReportSigner

PRIVATE_SCHEME_WARNING = (
    "Warning - Unrecognized defined term <99LSSD> for value 1 of attribute <Coding Scheme Designator>"
)
IDENTIFYING_TEXT = ("Doe", "Jane", "PID-4711", "19500102", "ACC-0815", "General Hospital", "Referrer", "074Y")


def _pdf(tmp_path, patient_line: str) -> bytes:
    path = tmp_path / "report.pdf"
    page = canvas.Canvas(str(path))
    page.drawString(72, 720, patient_line)
    page.save()
    return path.read_bytes()


def _uids(ds, keyword):
    found = set()

    def visit(_, element):
        if element.keyword == keyword:
            found.add(str(element.value))

    ds.walk(visit)
    return found


def test_export_writes_segs_sr_and_pdf_that_validate(study, findings, tmp_path, dciodvfy):
    signer = ReportSigner("Reader^Rosa", "General Hospital", datetime(2024, 3, 16, 9, 30))
    out = tmp_path / "export"
    paths = export_dicom_objects(study, findings, out, pdf_bytes=_pdf(tmp_path, "Doe^Jane"), signer=signer)

    assert [p.name for p in paths] == ["LSS_SEG_1.dcm", "LSS_SEG_2.dcm", "LSS_SR.dcm", "LSS_PDF.dcm"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temporary left
    datasets = [pydicom.dcmread(p) for p in paths]
    assert [d.Modality for d in datasets] == ["SEG", "SEG", "SR", "DOC"]
    # Exported series come after the study's own (2 and 3), SEGs first.
    assert [int(d.SeriesNumber) for d in datasets] == [103, 104, 105, 106]
    assert {d.StudyInstanceUID for d in datasets} == {study.study_instance_uid}
    for path in paths:
        assert set(dciodvfy(path)) <= {PRIVATE_SCHEME_WARNING}, path.name


def test_anonymised_export_replaces_identifiers_consistently_and_keeps_references(
    study, findings, tmp_path, dciodvfy
):
    anonymiser = Anonymiser(key=b"site secret")
    pseudonym = anonymiser.pseudonymised_patient(study.patient)
    out = tmp_path / "anon"
    signer = ReportSigner("Reader^Rosa", "General Hospital", datetime(2024, 3, 16, 9, 30))

    paths = export_dicom_objects(
        study,
        findings,
        out,
        pdf_bytes=_pdf(tmp_path, pseudonym.name),
        anonymise=True,
        signer=signer,
        anonymiser=anonymiser,
    )

    exported = [p for p in paths if p.parent == out]
    images = [p for p in paths if p.parent == out / "images"]
    assert [p.name for p in exported] == ["LSS_SEG_1.dcm", "LSS_SEG_2.dcm", "LSS_SR.dcm", "LSS_PDF.dcm"]
    # Key slices (SR, PDF) and every segmented source image (SEG) come along, anonymised.
    masked = {m.sop_instance_uid for m in findings.masks}
    assert len(images) == len(masked)

    datasets = [pydicom.dcmread(p) for p in paths]
    original_uids = {study.study_instance_uid} | {s.series_instance_uid for s in study.series}
    original_uids |= {image.sop_instance_uid for s in study.series for image in s.slices}
    for path, ds in zip(paths, datasets, strict=True):
        raw = path.read_bytes()
        for text in IDENTIFYING_TEXT:
            assert text.encode() not in raw, (path.name, text)
        for uid in original_uids:
            assert uid.encode() not in raw, (path.name, "original UID")
        assert ds.PatientID == pseudonym.patient_id
        assert str(ds.PatientName) == pseudonym.name
        assert ds.PatientBirthDate == ""
        assert ds.PatientIdentityRemoved == "YES"
        assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100", "113104", "113106"]
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.StudyDate == "20240315"  # full dates retained
    assert len({d.StudyInstanceUID for d in datasets}) == 1
    assert len({d.FrameOfReferenceUID for d in datasets if "FrameOfReferenceUID" in d}) == 1

    written = {d.SOPInstanceUID for d in datasets}
    for ds in datasets[:4]:
        assert _uids(ds, "ReferencedSOPInstanceUID") <= written
    image_series = {d.SeriesInstanceUID for d in datasets[4:]}
    for seg in datasets[:2]:
        assert {s.SeriesInstanceUID for s in seg.ReferencedSeriesSequence} <= image_series

    sr = datasets[2]
    assert str(sr.VerifyingObserverSequence[0].VerifyingObserverName) == "ANONYMISED^OBSERVER"
    assert len({d.StudyID for d in datasets}) == 1
    for path in paths:
        assert set(dciodvfy(path)) <= {PRIVATE_SCHEME_WARNING}, path.name


def test_pseudonyms_are_stable_under_one_key_and_differ_across_keys(study):
    a1, a2, b = Anonymiser(key=b"k1"), Anonymiser(key=b"k1"), Anonymiser(key=b"k2")
    assert a1.pseudonymised_patient(study.patient) == a2.pseudonymised_patient(study.patient)
    assert a1.pseudonym("PID-4711") != b.pseudonym("PID-4711")
    assert a1.new_uid("1.2.3") == a2.new_uid("1.2.3") != b.new_uid("1.2.3")
    assert a1.new_uid("1.2.3").startswith("2.25.") and len(a1.new_uid("1.2.3")) <= 64
    assert Anonymiser().pseudonym("PID-4711") != Anonymiser().pseudonym("PID-4711")  # random keys


def test_an_anonymiser_without_anonymise_is_refused(study, findings, tmp_path):
    with pytest.raises(DicomExportError, match="anonymise is False"):
        export_dicom_objects(study, findings, tmp_path / "x", anonymiser=Anonymiser())
    assert not (tmp_path / "x").exists()


def test_export_without_masks_or_pdf_writes_the_sr_only(study, findings, tmp_path, dciodvfy):
    bare = dataclasses.replace(findings, masks=())
    paths = export_dicom_objects(study, bare, tmp_path / "sr-only")
    assert [p.name for p in paths] == ["LSS_SR.dcm"]
    assert set(dciodvfy(paths[0])) <= {PRIVATE_SCHEME_WARNING}

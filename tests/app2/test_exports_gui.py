"""Exports from the window, off the GUI thread and audited: the report PDF (its folder opened after),
the DICOM SEG, SR and encapsulated PDF with and without anonymising, and sending them to a PACS
(progress, the node's copy, and a clear message when it cannot be reached)."""

from __future__ import annotations

import shutil
import subprocess

import pydicom
import pytest
from PySide6.QtWidgets import QMessageBox

from engine.pacs.node import PacsNode
from engine.reporting.sign_off import ReportStatus
from lss_desktop.app_settings import AppSettings
from lss_desktop.sign_off_dialog import SignOffRequest

pytestmark = pytest.mark.gui

SEG = "1.2.840.10008.5.1.4.1.1.66.4"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def wait_for(qtbot, task):
    finished = []
    task.signals.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    qtbot.wait(10)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_draft_pdf_is_written_off_thread_audited_and_its_folder_opened(opened, qtbot, tmp_path):
    window = opened(dicom_folder=tmp_path / "study")
    out = tmp_path / "out" / "report.pdf"
    task = window.export_pdf(out)
    assert window.progress_bar.isVisible()
    wait_for(qtbot, task)
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "DRAFT" in text and "Research use only" in text
    assert "lss-vlm-spca 0.3.0" in text
    assert window.opened_locations == [out.parent] and not window.progress_bar.isVisible()
    exports = [e for e in window.store.audit_trail() if e.event_type == "report_exported"]
    assert exports[-1].details["kind"] == "pdf" and exports[-1].details["status"] == "draft"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_dicom_export_anonymised_and_not(opened, qtbot, tmp_path):
    window = opened(dicom_folder=tmp_path / "study")
    window.report.accept_all()
    assert window.sign_report(SignOffRequest(ReportStatus.FINAL, "Dr Ada Lovelace", "I attest."))

    plain = tmp_path / "dicom"
    wait_for(qtbot, window.export_dicom(plain, anonymise=False))
    names = sorted(p.name for p in plain.iterdir())
    segs = [n for n in names if n.startswith("LSS_SEG_")]
    assert names == ["LSS_PDF.dcm", *segs, "LSS_SR.dcm"] and len(segs) >= 1  # one SEG per image plane
    sr = pydicom.dcmread(plain / "LSS_SR.dcm")
    assert sr.PatientID == "PID-12345" and sr.VerificationFlag == "VERIFIED"
    assert "St Elsewhere Hospital" in str(sr.VerifyingObserverSequence[0].VerifyingOrganization)
    assert pydicom.dcmread(plain / "LSS_SEG_1.dcm").SOPClassUID == SEG
    assert window.opened_locations[-1] == plain

    anonymous = tmp_path / "dicom-anon"
    wait_for(qtbot, window.export_dicom(anonymous, anonymise=True))
    objects = [pydicom.dcmread(p) for p in anonymous.rglob("*.dcm")]
    assert len(objects) > 3 and (anonymous / "images").is_dir()  # the referenced images, anonymised too
    assert all(o.PatientID.startswith("ANON-") and o.PatientIdentityRemoved == "YES" for o in objects)
    pdf = next(o for o in objects if o.SOPClassUID == ENCAPSULATED_PDF)
    (tmp_path / "inside.pdf").write_bytes(pdf.EncapsulatedDocument)
    printed = pdf_text(tmp_path / "inside.pdf")
    assert "Doe" not in printed and "PID-12345" not in printed and "ANON-" in printed
    kinds = [e.details for e in window.store.audit_trail() if e.event_type == "report_exported"]
    assert [k["anonymised"] for k in kinds] == [False, True]
    assert all(len(f["sha256"]) == 64 for f in kinds[1]["files"])


def test_send_to_pacs_stores_the_objects_with_progress(opened, qtbot, tmp_path, pacs_node):
    node, received = pacs_node
    window = opened(
        dicom_folder=tmp_path / "study",
        settings=AppSettings(user_name="Dr Ada Lovelace", pacs_node=node),
    )
    progress = []
    task = window.send_to_pacs()
    task.signals.progress.connect(lambda done, total: progress.append((done, total)))
    wait_for(qtbot, task)
    classes = [ds.SOPClassUID for ds in received]
    assert classes.count(COMPREHENSIVE_3D_SR) == 1 and classes.count(ENCAPSULATED_PDF) == 1
    assert classes.count(SEG) == len(classes) - 2 >= 1
    assert progress[-1] == (len(classes), len(classes))
    assert window.last_message.windowTitle() == "Sent to PACS"
    assert f"{len(classes)} object(s) stored on {node}" in window.last_message.text()
    pacs = [
        e
        for e in window.store.audit_trail()
        if e.event_type == "report_exported" and e.details["kind"] == "pacs"
    ]
    assert pacs[-1].details["node"] == str(node) and len(pacs[-1].details["stored"]) == len(classes)


def test_an_unreachable_pacs_gets_a_clear_message(opened, qtbot, tmp_path, closed_port):
    node = PacsNode("NOBODY", "127.0.0.1", closed_port, timeout_s=3)
    window = opened(
        dicom_folder=tmp_path / "study", settings=AppSettings(user_name="Dr Ada Lovelace", pacs_node=node)
    )
    wait_for(qtbot, window.send_to_pacs())
    box = window.last_message
    assert box.windowTitle() == "PACS not reachable" and box.icon() == QMessageBox.Icon.Warning
    assert "host name and port" in box.text()
    box.close()


def test_send_to_pacs_without_a_node_says_where_to_set_one(opened):
    window = opened()
    assert window.send_to_pacs() is None
    assert "Settings" in window.last_message.text()
    window.last_message.close()


def test_export_dialogs_ask_where_and_whether_to_anonymise(opened, qtbot, modal, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from lss_desktop.export_dialog import DicomExportDialog

    window = opened(dicom_folder=tmp_path / "study")
    started = []
    monkeypatch.setattr(window.runner, "start", lambda *args, **kwargs: started.append(args[0]))

    def choose(dialog):
        assert isinstance(dialog, DicomExportDialog)
        assert dialog.folder.name == "lss-dicom-20260115"
        dialog.folder_edit.setText(str(tmp_path / "chosen"))
        dialog.anonymise_check.setChecked(True)
        dialog.export_button.click()

    calls = []
    monkeypatch.setattr(window, "export_dicom", lambda folder, anonymise: calls.append((folder, anonymise)))
    modal(window.export_dicom_dialog, choose)
    assert calls == [(tmp_path / "chosen", True)]

    def save_as(dialog):
        assert isinstance(dialog, QFileDialog)
        dialog.selectFile(str(tmp_path / "named.pdf"))
        dialog.accept()

    pdf_calls = []
    monkeypatch.setattr(window, "export_pdf", pdf_calls.append)
    modal(window.export_pdf_dialog, save_as)
    assert pdf_calls == [tmp_path / "named.pdf"]
    assert started == []

"""`lss report dicom`: SEG, SR and the encapsulated PDF written from a findings file and its study,
valid for dciodvfy, de-identified on request, refused with a clear message on mismatched input."""

from __future__ import annotations

import pydicom
import pytest

from engine.cli import main as cli_main
from engine.cli.exit_codes import ExitCode
from engine.findings_io import save_findings

SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.66.4": "SEG",
    "1.2.840.10008.5.1.4.1.1.88.33": "SR",
    "1.2.840.10008.5.1.4.1.1.88.34": "SR",
    "1.2.840.10008.5.1.4.1.1.4": "MR",
    "1.2.840.10008.5.1.4.1.1.104.1": "PDF",
}


@pytest.fixture
def lss(capsys):
    def run(*args):
        code = cli_main.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def findings_file(findings, tmp_path):
    return save_findings(findings, tmp_path / "findings.json")


def _written(stdout: str) -> dict[str, list[pydicom.Dataset]]:
    written: dict[str, list[pydicom.Dataset]] = {}
    for line in stdout.splitlines():
        ds = pydicom.dcmread(line.strip())
        written.setdefault(SOP_CLASSES.get(str(ds.SOPClassUID), str(ds.SOPClassUID)), []).append(ds)
    return written


def test_report_dicom_writes_valid_seg_sr_and_pdf(lss, study, findings_file, tmp_path, dciodvfy):
    code, out, err = lss("report", "dicom", findings_file, "--study", study.root, "--out", tmp_path / "out")
    assert code == ExitCode.OK, err
    written = _written(out)
    assert set(written) == {"SEG", "SR", "PDF"}
    assert len(written["SR"]) == len(written["PDF"]) == 1
    for kind, group in written.items():
        for ds in group:
            assert ds.StudyInstanceUID == study.study_instance_uid, kind
            assert ds.PatientName == study.patient.name, kind
            errors = [line for line in dciodvfy(ds.filename) if line.startswith("Error")]
            assert errors == [], (kind, errors)
    assert written["PDF"][0].EncapsulatedDocument.startswith(b"%PDF")
    assert "not signed" in err


def test_report_dicom_anonymised_hides_the_patient(lss, study, findings_file, tmp_path):
    code, out, err = lss(
        "report",
        "dicom",
        findings_file,
        "--study",
        study.root,
        "--out",
        tmp_path / "anon",
        "--anonymise",
        "--no-pdf",
    )
    assert code == ExitCode.OK, err
    written = _written(out)
    # The de-identified copy carries the de-identified images its SEG and SR refer to.
    assert set(written) == {"SEG", "SR", "MR"}
    uids = {ds.StudyInstanceUID for group in written.values() for ds in group}
    assert len(uids) == 1 and uids != {study.study_instance_uid}
    for ds in (d for group in written.values() for d in group):
        assert str(ds.PatientName) != str(study.patient.name)
        assert ds.PatientID != study.patient.patient_id
        assert str(study.patient.name) not in ds.to_json()


def test_report_dicom_refuses_findings_of_another_study(lss, study, findings, tmp_path):
    import dataclasses

    other = save_findings(
        dataclasses.replace(findings, study_instance_uid="1.2.3.4.5"), tmp_path / "other.json"
    )
    code, _, err = lss("report", "dicom", other, "--study", study.root, "--out", tmp_path / "x")
    assert code == ExitCode.INPUT_INVALID
    assert "other.json" in err and "1.2.3.4.5" in err
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())

"""`lss report send`: the findings' SEG, SR and PDF exported and stored on Orthanc (C-STORE)."""

from __future__ import annotations

import pytest

from engine.cli import main as cli_main
from engine.cli.exit_codes import ExitCode
from engine.findings_io import save_findings


@pytest.fixture
def lss(capsys):
    def run(*args):
        code = cli_main.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _modalities(orthanc, study_uid: str) -> list[str]:
    (orthanc_study,) = [
        s for s in orthanc.rest("/studies?expand") if s["MainDicomTags"]["StudyInstanceUID"] == study_uid
    ]
    return sorted(orthanc.rest(f"/series/{s}")["MainDicomTags"]["Modality"] for s in orthanc_study["Series"])


def test_report_send_stores_seg_sr_and_pdf_on_the_pacs(lss, orthanc, study, findings, tmp_path):
    findings_file = save_findings(findings, tmp_path / "findings.json")
    node = orthanc.node
    code, out, err = lss(
        "report",
        "send",
        findings_file,
        "--study",
        study.root,
        "--host",
        node.host,
        "--port",
        node.port,
        "--aet",
        node.ae_title,
        "--timeout",
        5,
    )
    assert code == ExitCode.OK, err
    assert "stored" in out
    assert {"SEG", "SR", "DOC"} <= set(_modalities(orthanc, study.study_instance_uid))


def test_report_send_to_an_unreachable_node_exits_9(lss, study, findings, tmp_path, unused_port):
    findings_file = save_findings(findings, tmp_path / "findings.json")
    code, _, err = lss(
        "report",
        "send",
        findings_file,
        "--study",
        study.root,
        "--host",
        "127.0.0.1",
        "--port",
        unused_port,
        "--aet",
        "NOBODY",
        "--timeout",
        2,
    )
    assert code == ExitCode.PACS_ERROR
    assert "127.0.0.1" in err

"""findings.json 1.1: the discs not analysed and the load report travel with the findings."""

from __future__ import annotations

import json

import pytest

from engine.findings import DiscLevel, StudyFindings
from engine.findings_io import (
    FindingsFormatError,
    findings_from_json,
    findings_to_json,
    load_findings,
    save_findings,
)
from engine.study.model import IssueSeverity, LoadIssue, LoadReport


def _findings() -> StudyFindings:
    t12 = DiscLevel("T12-L1", (0.0, 0.0, 40.0), (0.0, 0.0, 1.0), 0.8, "1.2", "1.2.3")
    report = LoadReport(12, 11, (LoadIssue("study/IM7", "not DICOM", IssueSeverity.SKIPPED),))
    return StudyFindings("1.2.840", (), (), other_discs=(t12,), load_report=report)


def test_other_discs_and_load_report_round_trip(tmp_path):
    findings = _findings()
    loaded = load_findings(save_findings(findings, tmp_path / "findings.json"))
    assert loaded.other_discs == findings.other_discs
    assert loaded.load_report == findings.load_report
    document = json.loads((tmp_path / "findings.json").read_text())
    assert document["schema_version"] == "1.1"
    assert document["load_report"]["issues"] == [
        {"path": "study/IM7", "reason": "not DICOM", "severity": "skipped"}
    ]


def test_a_1_0_file_without_the_new_fields_still_reads():
    document = findings_to_json(_findings())
    del document["other_discs"], document["load_report"]
    document["schema_version"] = "1.0"
    findings = findings_from_json(document)
    assert findings.other_discs == () and findings.load_report is None


def test_a_wrong_load_report_names_the_field():
    document = findings_to_json(_findings())
    document["load_report"]["issues"][0]["severity"] = "lost"
    with pytest.raises(FindingsFormatError, match=r"load_report\.issues\[0\]\.severity"):
        findings_from_json(document, source="x.json")

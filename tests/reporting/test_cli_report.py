"""`lss report draft|pdf|verify`, run in-process through the CLI entry point."""

from __future__ import annotations

import json
import subprocess

import pytest

from engine.cli import main as cli_main
from engine.cli.exit_codes import ExitCode
from engine.findings_io import save_findings


@pytest.fixture(autouse=True)
def only_report_command(monkeypatch):
    # Only this branch's subcommand: other COMMAND_MODULES land on main from other branches.
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("engine.cli.report",))


def main(argv: list[str]) -> int:
    return cli_main.main(argv)


@pytest.fixture
def findings_file(tmp_path, case):
    return save_findings(case.findings, tmp_path / "findings.json")


def test_draft_prints_the_report(findings_file, capsys):
    assert main(["report", "draft", str(findings_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TECHNIQUE\nMRI of the lumbar spine.\n")
    assert "Marked thecal sac compression noted at L4-L5 level" in out
    assert "IMPRESSION\nSevere central canal stenosis at L4-L5" in out
    assert "reviewed by the signing radiologist" in out


def test_draft_json_then_pdf_from_that_draft(tmp_path, findings_file, capsys):
    draft_json = tmp_path / "draft.json"
    assert main(["report", "draft", str(findings_file), "--json", "--out", str(draft_json)]) == 0
    doc = json.loads(draft_json.read_text(encoding="utf-8"))
    assert doc["schema"] == "lss-report-draft" and doc["findings"][3]["evidence"]["grade"] == "C"
    doc["findings"][3]["text"] = "Broad-based disc bulge at L4/L5 with severe canal stenosis."
    doc["findings"][3]["provenance"] = "edited_by_person"
    draft_json.write_text(json.dumps(doc), encoding="utf-8")
    pdf = tmp_path / "out" / "report.pdf"
    assert main(["report", "pdf", str(findings_file), "--draft", str(draft_json), "--out", str(pdf)]) == 0
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Broad-based disc bulge at L4/L5" in text and "DRAFT" in text
    assert "wrote" in capsys.readouterr().err


def test_site_template_option(tmp_path, findings_file, capsys):
    from engine.reporting.template import DEFAULT_TEMPLATE_PATH

    site = tmp_path / "site.toml"
    site.write_text(
        DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8").replace(
            'level_style = "hyphen"', 'level_style = "slash"'
        ),
        encoding="utf-8",
    )
    assert main(["report", "draft", str(findings_file), "--template", str(site)]) == 0
    assert "at L4/L5 level" in capsys.readouterr().out


def test_bad_findings_file_names_the_field(tmp_path, findings_file, capsys):
    doc = json.loads(findings_file.read_text())
    doc["findings"][0]["grade"] = "Z"
    findings_file.write_text(json.dumps(doc))
    assert main(["report", "draft", str(findings_file)]) == ExitCode.INPUT_INVALID
    assert "findings[0].grade: 'Z' is not one of A, B, C, D" in capsys.readouterr().err


def test_unusable_language_model_folder(tmp_path, findings_file, capsys):
    assert (
        main(["report", "draft", str(findings_file), "--polish", str(tmp_path)])
        == ExitCode.MODEL_PACK_INVALID
    )
    assert "config.json is missing" in capsys.readouterr().err


def test_verify_reports_a_sound_and_a_tampered_database(tmp_path, case, capsys):
    import sqlite3

    from engine.reporting.drafting import draft_report
    from engine.storage.report_store import ReportStore

    with ReportStore.open(tmp_path) as store:
        store.open_study(case.study.study_instance_uid, "/x", "Dr A")
        store.save_draft(draft_report(case.findings, case.study), "Dr A")
        path = store.path
    assert main(["report", "verify", "--data-dir", str(tmp_path)]) == 0
    assert "all checks passed" in capsys.readouterr().out
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TRIGGER audit_is_append_only_update")
        raw.execute("UPDATE audit SET actor = 'Dr Mallory' WHERE seq = 1")
    assert main(["report", "verify", "--data-dir", str(tmp_path)]) == ExitCode.INPUT_INVALID
    captured = capsys.readouterr()
    assert "PROBLEM: audit row 1: content does not match its hash" in captured.out
    assert "1 problem(s) found" in captured.err

"""`lss report`: draft a report from a findings file, export it as PDF, check the report database.

    lss report draft FINDINGS_JSON [--template TOML] [--polish MODEL_DIR] [--json] [--out FILE]
    lss report pdf FINDINGS_JSON --out report.pdf [--draft DRAFT_JSON] [--template TOML]
    lss report dicom FINDINGS_JSON --study DIR --out DIR [--anonymise] [--no-pdf] [--template TOML]
    lss report send FINDINGS_JSON --study DIR (--node-file F | --host H --port P --aet A) [--anonymise]
    lss report verify [--data-dir DIR]

With --study (the DICOM folder the findings came from) the draft names the series, the PDF has
the patient header and key images with mask overlays, and DICOM SEG/SR/encapsulated PDF can be
built. FINDINGS_JSON is the `lss analyze` output (format in `engine.findings_io`). A PDF made here is a
draft: signing happens in the app, by a person. Bad input exits with ExitCode.INPUT_INVALID (7)
and a message naming the file and field; an unusable language-model folder with
ExitCode.MODEL_PACK_INVALID (6).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.cli.exit_codes import ExitCode
from engine.cli.main import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="draft a report from findings, export it as PDF, check the report database",
        description="Report drafting and export. PDFs made here are unsigned drafts.",
    )
    actions = parser.add_subparsers(dest="report_action", required=True, metavar="ACTION")

    draft = actions.add_parser("draft", help="draft the report text from a findings file")
    draft.add_argument("findings", type=Path, help="findings JSON (lss analyze output)")
    draft.add_argument(
        "--template", type=Path, help="site report template (TOML); default: $LSS_REPORT_TEMPLATE"
    )
    draft.add_argument(
        "--polish", type=Path, metavar="MODEL_DIR", help="polish with a local language model folder"
    )
    draft.add_argument("--study", type=Path, help="the study's DICOM folder (technique line)")
    draft.add_argument("--json", action="store_true", help="write the draft as JSON (sentences, evidence)")
    draft.add_argument("--out", type=Path, help="write to this file instead of printing")

    pdf = actions.add_parser("pdf", help="export the draft report as PDF")
    pdf.add_argument("findings", type=Path, help="findings JSON (lss analyze output)")
    pdf.add_argument("--out", type=Path, required=True, help="PDF file to write")
    pdf.add_argument("--draft", type=Path, help="a saved draft (from `lss report draft --json`) to print")
    pdf.add_argument("--template", type=Path, help="site report template (TOML)")
    pdf.add_argument("--study", type=Path, help="the study's DICOM folder (patient header, key images)")

    dicom = actions.add_parser(
        "dicom", help="export DICOM SEG (masks), TID 1500 SR (measurements) and the PDF as DICOM"
    )
    _add_dicom_export_arguments(dicom)
    dicom.add_argument("--out", type=Path, required=True, help="folder to write the DICOM files to")

    from engine.cli.pacs import node_options_parser

    send = actions.add_parser(
        "send",
        parents=[node_options_parser()],
        help="export SEG, SR and PDF (as in `dicom`) and send them to a PACS (C-STORE)",
    )
    _add_dicom_export_arguments(send)

    verify = actions.add_parser(
        "verify", help="check the report database, its audit trail and signed reports"
    )
    verify.add_argument(
        "--data-dir", type=Path, help="data folder (default: $LSS_DATA_DIR or the user data folder)"
    )
    parser.set_defaults(func=run)


def _add_dicom_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("findings", type=Path, help="findings JSON (lss analyze output)")
    parser.add_argument("--study", type=Path, required=True, help="the study's DICOM folder")
    parser.add_argument("--anonymise", action="store_true", help="de-identify (PS3.15 basic profile)")
    parser.add_argument("--no-pdf", action="store_true", help="leave out the encapsulated PDF")
    parser.add_argument("--template", type=Path, help="site report template (TOML)")


def _load_study(path: Path | None) -> Any:
    if path is None:
        return None
    from engine.cli.analyze import load_dicom_study

    return load_dicom_study(path)


def _check_study_matches(findings: Any, study: Any, args: argparse.Namespace) -> None:
    if study is not None and study.study_instance_uid != findings.study_instance_uid:
        raise CommandError(
            f"{args.study}: holds study {study.study_instance_uid}, "
            f"{args.findings} is for {findings.study_instance_uid}",
            ExitCode.INPUT_INVALID,
        )


def write_draft_pdf(findings: Any, study: Any, out: Path, template: Any, draft: Any = None) -> Path:
    """Draft the report (unless given) and write it as an unsigned PDF; returns the path."""
    from engine.export.pdf_report import pdf_input_for, write_report_pdf
    from engine.reporting.drafting import draft_report

    if draft is None:
        draft = draft_report(findings, study, template)
    return write_report_pdf(pdf_input_for(draft, findings, study, thresholds=template.thresholds), out)


def _load_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    from engine.findings_io import FindingsFormatError, load_findings
    from engine.reporting.template import TemplateError, load_report_template

    try:
        findings = load_findings(args.findings)
        template = load_report_template(args.template)
    except (FindingsFormatError, TemplateError) as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    return findings, template


def _draft(args: argparse.Namespace) -> int:
    from engine.atomic_file import write_text_atomically
    from engine.reporting.drafting import draft_report
    from engine.reporting.model import draft_to_dict

    findings, template = _load_inputs(args)
    study = _load_study(args.study)
    _check_study_matches(findings, study, args)
    draft = draft_report(findings, study, template)
    if args.polish is not None:
        from engine.reporting.polish import PolishModelError, polish_report

        try:
            result = polish_report(draft, args.polish)
        except PolishModelError as exc:
            raise CommandError(str(exc), ExitCode.MODEL_PACK_INVALID) from exc
        print(result.summary(), file=sys.stderr)
        draft = result.draft
    text = (
        json.dumps(draft_to_dict(draft), indent=2, ensure_ascii=False) + "\n"
        if args.json
        else draft.as_text()
    )
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text_atomically(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    return int(ExitCode.OK)


def _pdf(args: argparse.Namespace) -> int:
    from engine.reporting.model import DraftFormatError, draft_from_dict

    findings, template = _load_inputs(args)
    study = _load_study(args.study)
    _check_study_matches(findings, study, args)
    draft = None
    if args.draft is not None:
        try:
            draft = draft_from_dict(json.loads(args.draft.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, DraftFormatError) as exc:
            raise CommandError(f"{args.draft}: cannot read the draft: {exc}", ExitCode.INPUT_INVALID) from exc
        if draft.study_instance_uid != findings.study_instance_uid:
            raise CommandError(
                f"{args.draft}: the draft is for study {draft.study_instance_uid}, "
                f"{args.findings} for {findings.study_instance_uid}",
                ExitCode.INPUT_INVALID,
            )
    path = write_draft_pdf(findings, study, args.out, template, draft)
    print(f"wrote {path} (draft, not signed)", file=sys.stderr)
    return int(ExitCode.OK)


def _export_dicom(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    """SEG, SR and (unless --no-pdf) the draft PDF as DICOM, for the findings on their study."""
    import dataclasses
    import tempfile

    from engine.export.anonymise import Anonymiser
    from engine.export.dicom_objects import export_dicom_objects
    from engine.export.errors import DicomExportError

    findings, template = _load_inputs(args)
    study = _load_study(args.study)
    _check_study_matches(findings, study, args)
    anonymiser = Anonymiser() if args.anonymise else None
    pdf_bytes = None
    if not args.no_pdf:
        # An anonymised export carries a PDF rendered for the same pseudonym as the DICOM headers.
        pdf_study = (
            study
            if anonymiser is None
            else dataclasses.replace(study, patient=anonymiser.pseudonymised_patient(study.patient))
        )
        with tempfile.TemporaryDirectory() as scratch:
            pdf_path = write_draft_pdf(findings, pdf_study, Path(scratch) / "report.pdf", template)
            pdf_bytes = pdf_path.read_bytes()
    try:
        return export_dicom_objects(
            study, findings, out_dir, pdf_bytes=pdf_bytes, anonymise=args.anonymise, anonymiser=anonymiser
        )
    except DicomExportError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc


def _dicom(args: argparse.Namespace) -> int:
    written = _export_dicom(args, args.out)
    for path in written:
        print(path)
    print(f"wrote {len(written)} DICOM file(s) to {args.out} (draft, not signed)", file=sys.stderr)
    return int(ExitCode.OK)


def _send(args: argparse.Namespace) -> int:
    import tempfile

    from engine.cli.pacs import pacs_errors_as_exit_codes, resolve_node, send_files

    with pacs_errors_as_exit_codes():
        node = resolve_node(args)
    with tempfile.TemporaryDirectory() as scratch:
        written = _export_dicom(args, Path(scratch))
        args.paths = written
        with pacs_errors_as_exit_codes():
            return send_files(node, args)


def _verify(args: argparse.Namespace) -> int:
    from engine.storage.report_store import ReportStore, StorageError

    try:
        store = ReportStore.open(args.data_dir)
    except StorageError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    with store:
        problems: list[str] = []
        integrity = store.integrity_check()
        if integrity != "ok":
            problems.append(f"SQLite integrity check: {integrity}")
        chain = store.verify_audit_chain()
        problems += chain.problems
        studies = store.worklist()
        for entry in studies:
            try:
                stored = store.load_report(entry.study_instance_uid)
            except KeyError:
                continue  # opened, no draft yet
            problems += [f"study {entry.study_instance_uid}: {p}" for p in stored.integrity_problems]
        print(f"database: {store.path}")
        print(f"studies: {len(studies)}, audit entries: {chain.entries_checked}")
    if problems:
        for p in problems:
            print(f"PROBLEM: {p}")
        raise CommandError(f"{len(problems)} problem(s) found in {store.path}", ExitCode.INPUT_INVALID)
    print("all checks passed")
    return int(ExitCode.OK)


def run(args: argparse.Namespace) -> int:
    actions = {"draft": _draft, "pdf": _pdf, "dicom": _dicom, "send": _send, "verify": _verify}
    return actions[args.report_action](args)

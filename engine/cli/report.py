"""`lss report`: draft a report from a findings file, export it as PDF, check the report database.

    lss report draft FINDINGS_JSON [--template TOML] [--polish MODEL_DIR] [--json] [--out FILE]
    lss report pdf FINDINGS_JSON --out report.pdf [--draft DRAFT_JSON] [--template TOML]
    lss report verify [--data-dir DIR]

FINDINGS_JSON is the `lss analyze` output (format in `engine.findings_io`). A PDF made here is a
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
    draft.add_argument("--json", action="store_true", help="write the draft as JSON (sentences, evidence)")
    draft.add_argument("--out", type=Path, help="write to this file instead of printing")

    pdf = actions.add_parser("pdf", help="export the draft report as PDF")
    pdf.add_argument("findings", type=Path, help="findings JSON (lss analyze output)")
    pdf.add_argument("--out", type=Path, required=True, help="PDF file to write")
    pdf.add_argument("--draft", type=Path, help="a saved draft (from `lss report draft --json`) to print")
    pdf.add_argument("--template", type=Path, help="site report template (TOML)")

    verify = actions.add_parser(
        "verify", help="check the report database, its audit trail and signed reports"
    )
    verify.add_argument(
        "--data-dir", type=Path, help="data folder (default: $LSS_DATA_DIR or the user data folder)"
    )
    parser.set_defaults(func=run)


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
    draft = draft_report(findings, None, template)
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
    from engine.export.pdf_report import pdf_input_for, write_report_pdf
    from engine.reporting.drafting import draft_report
    from engine.reporting.model import DraftFormatError, draft_from_dict

    findings, template = _load_inputs(args)
    if args.draft is None:
        draft = draft_report(findings, None, template)
    else:
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
    path = write_report_pdf(pdf_input_for(draft, findings, None, thresholds=template.thresholds), args.out)
    print(f"wrote {path} (draft, not signed)", file=sys.stderr)
    return int(ExitCode.OK)


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
    return {"draft": _draft, "pdf": _pdf, "verify": _verify}[args.report_action](args)

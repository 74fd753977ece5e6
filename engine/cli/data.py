"""`lss data ...`: site data for fine-tuning (training/site_data/FORMAT.md).

lss data check DIR [--json] [--pseudo-masks]   every problem per file, counts per grade; exit 7
                                                (INPUT_INVALID) when a problem blocks training
lss data reports FILE.csv|DIR [--id-column C --text-column C] [--show ID ...] [--json]
                                                what the report parser finds (levels, severities)
lss data from-synthetic STUDY... --out DIR [--no-masks --no-reports --no-levels]
                                                a site folder made from synthetic studies
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.cli.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="check and prepare site data for fine-tuning")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    check = commands.add_parser(
        "check",
        help="list every problem of a site-data folder and count its labels per grade",
        description="Validate a site-data folder: labels.csv, DICOM studies, masks (NIfTI or DICOM SEG), "
        "level files and reports. Exit code 7 when a problem blocks training.",
    )
    check.add_argument("path", metavar="DIR", type=Path, help="site-data folder")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--pseudo-masks",
        action="store_true",
        help="also make the report-conditioned pseudo-masks and count them",
    )
    check.set_defaults(func=run_check)
    reports = commands.add_parser(
        "reports",
        help="parse free-text reports: disc levels and central canal severity",
        description="Parse reports from a CSV file (one report per row) or a folder of .txt files and "
        "count what the parser finds.",
    )
    reports.add_argument("path", metavar="FILE_OR_DIR", type=Path)
    reports.add_argument("--id-column", default="patient_id", help="CSV column with the report id")
    reports.add_argument("--text-column", default="clinicians_notes", help="CSV column with the text")
    reports.add_argument(
        "--show", nargs="+", metavar="ID", default=[], help="print the parse of these reports"
    )
    reports.add_argument("--json", action="store_true", help="print the summary as JSON")
    reports.set_defaults(func=run_reports)
    synthetic = commands.add_parser(
        "from-synthetic",
        help="write a site-data folder from synthetic studies (demo and test data)",
    )
    synthetic.add_argument("studies", nargs="+", type=Path, metavar="STUDY", help="synthetic study folders")
    synthetic.add_argument("--out", type=Path, required=True, help="site-data folder to write or extend")
    synthetic.add_argument("--no-masks", action="store_true")
    synthetic.add_argument("--no-reports", action="store_true")
    synthetic.add_argument("--no-levels", action="store_true")
    synthetic.set_defaults(func=run_from_synthetic)


def _problem_lines(problems: Any) -> list[str]:
    return [
        problem.text() for problem in sorted(problems, key=lambda p: (p.severity.value != "blocking", p.path))
    ]


def run_check(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.site_data.validation import validate_site_folder

    if not args.path.is_dir():
        raise CommandError(f"site-data folder not found: {args.path}", ExitCode.INPUT_INVALID)
    report = validate_site_folder(args.path)
    summary = report.summary()
    if args.pseudo_masks:
        from engine.site_data.level_targets import level_targets, tally_targets

        summary["targets"] = tally_targets(level_targets(report))
    if args.json:
        json.dump({**summary, "problems": [p.as_dict() for p in report.problems]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in _problem_lines(report.problems):
            print(line)
        print(
            f"{summary['studies']} studies ({summary['studies_readable']} readable, "
            f"{summary['studies_with_masks']} with masks, {summary['studies_with_reports']} with reports); "
            f"{summary['labels']} labels"
        )
        print("labels per grade: " + ", ".join(f"{g} {n}" for g, n in summary["labels_per_grade"].items()))
        print(
            "located on an axial slice: "
            + ", ".join(f"{g} {n}" for g, n in summary["located_levels_per_grade"].items())
            + f"; with a site mask: {summary['located_levels_with_masks']}"
        )
        if "targets" in summary:
            targets = summary["targets"]
            print(
                f"training targets: {targets['per_source']}; pseudo-masks accepted "
                f"{targets['pseudo_masks_accepted']} of {targets['pseudo_masks_tried']}, rejected: "
                f"{targets['pseudo_mask_rejections']}"
            )
        print(f"{summary['blocking_problems']} blocking problem(s), {summary['warnings']} warning(s)")
    return int(ExitCode.OK) if report.usable else int(ExitCode.INPUT_INVALID)


def run_reports(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.site_data.report_coverage import read_reports_csv, summarise_report_parsing

    path: Path = args.path
    try:
        if path.is_dir():
            reports = {
                p.stem: p.read_text(encoding="utf-8", errors="replace") for p in sorted(path.glob("*.txt"))
            }
        elif path.is_file():
            reports = read_reports_csv(path, args.id_column, args.text_column)
        else:
            raise CommandError(f"not found: {path}", ExitCode.INPUT_INVALID)
    except ValueError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    if not reports:
        raise CommandError(f"{path}: no report", ExitCode.INPUT_INVALID)
    summary, parsed = summarise_report_parsing(reports)
    unknown = [key for key in args.show if key not in parsed]
    if unknown:
        raise CommandError(f"no report with id {', '.join(unknown)}", ExitCode.INPUT_INVALID)
    for key in args.show:
        print(f"=== {key}: {reports[key]!r}")
        for level in parsed[key].levels:
            severity = level.severity.value if level.severity else "no canal statement"
            grade = level.grade.value if level.grade else "-"
            print(f"    {level.level}: {severity} -> grade {grade} ({level.source})")
    if args.json:
        json.dump(summary.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        s = summary
        print(
            f"{s.reports} reports; {s.reports_with_disc_level} name a disc level ({s.disc_level_mentions} mentions, "
            f"{s.named_levels} distinct report-levels); {s.reports_with_any_severity} give a canal severity"
        )
        print(
            f"named levels: {s.named_with_severity} with their own severity {s.severities}, "
            f"{s.named_from_study_statement} from a study-wide statement, {s.named_without_severity} without; "
            f"{s.implied_levels} unnamed levels covered by a study-wide 'no compression'"
        )
        print(f"grades by the mapping rule: {s.grades}; study-wide statements: {s.study_statements}")
        if s.unparsed_level_texts:
            print(f"level-like texts not understood: {s.unparsed_level_texts}")
    return int(ExitCode.OK)


def run_from_synthetic(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.site_data.synthetic_site import write_synthetic_site
    from engine.synthetic_study import GroundTruthError

    try:
        out = write_synthetic_site(
            args.out,
            args.studies,
            masks=not args.no_masks,
            reports=not args.no_reports,
            levels=not args.no_levels,
        )
    except (GroundTruthError, FileNotFoundError) as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    print(f"site-data folder written: {out}")
    return int(ExitCode.OK)

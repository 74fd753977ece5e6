"""`lss study info DIR [--json] [--study UID]`: what the loader finds in a DICOM folder.

Text output: the study (UID, date, description; never patient data), one line per MR series
(number, description, orientation, sequence, slice count, matrix, pixel spacing, slice
thickness, slice spacing, angled-stack flag), the set-aside series with their reasons, and the
load report (severity, file, reason).

`--json` prints one object:
    {
      "engine_version": str,
      "study_instance_uid": str, "study_date": str (DICOM DA), "description": str, "root": str,
      "series": [{
          "key": str, "series_instance_uid": str, "series_number": int | null,
          "split_part": int | null, "description": str,
          "orientation": "sagittal" | "axial" | "coronal" | "oblique" | "unknown",
          "sequence": "T1" | "T2" | "STIR" | "unknown",
          "slice_count": int, "matrix": [rows, columns] | null,
          "pixel_spacing_mm": [row, column] | null, "slice_thickness_mm": float | null,
          "slice_spacing_mm": float | null, "angled_stack": bool,
          "echo_time_ms": float | null, "repetition_time_ms": float | null, "manufacturer": str
      }],
      "set_aside": [{"series_instance_uid": str, "description": str, "modality": str,
                     "reason": str, "file_count": int}],
      "load_report": {"files_found": int, "files_loaded": int, "cancelled": bool,
                      "issues": [{"severity": "skipped" | "warning" | "set_aside",
                                  "path": str, "reason": str}]}
    }

Exit codes: 0 when a study was read, 3 (NO_DICOM) when the folder holds no readable DICOM image,
7 (INPUT_INVALID) when --study names a study that is not there.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from engine.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from engine.study import Series, Study


def register(subparsers: argparse._SubParsersAction) -> None:
    study = subparsers.add_parser("study", help="inspect DICOM studies")
    commands = study.add_subparsers(dest="study_command", required=True, metavar="SUBCOMMAND")
    info = commands.add_parser(
        "info",
        help="series, orientation, sequence, geometry and load report of a DICOM folder",
        description="Load a DICOM folder (recursive, DICOMDIR-aware) or file and describe what was found.",
    )
    info.add_argument("path", metavar="DIR", help="DICOM folder or file")
    info.add_argument("--json", action="store_true", help="print a JSON object (schema in the module docs)")
    info.add_argument("--study", metavar="UID", help="StudyInstanceUID to load when the folder holds several")
    info.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from engine.cli.main import CommandError
    from engine.study import NoDicomFoundError, StudyNotFoundError, load_study

    if not args.verbose:
        # pydicom warns about every odd value it reads; the load report already says what matters.
        warnings.filterwarnings("ignore", module=r"pydicom\..*")
    try:
        study = load_study(args.path, study_instance_uid=args.study)
    except NoDicomFoundError as exc:
        raise CommandError(str(exc), ExitCode.NO_DICOM) from exc
    except StudyNotFoundError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    if args.json:
        json.dump(study_as_json(study), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(study_as_text(study))
    return int(ExitCode.OK)


def _series_json(series: Series) -> dict[str, Any]:
    return {
        "key": series.key,
        "series_instance_uid": series.series_instance_uid,
        "series_number": series.series_number,
        "split_part": series.split_part,
        "description": series.description,
        "orientation": series.orientation.value,
        "sequence": series.sequence.value,
        "slice_count": len(series.slices),
        "matrix": list(series.matrix) if series.matrix else None,
        "pixel_spacing_mm": list(series.pixel_spacing_mm) if series.pixel_spacing_mm else None,
        "slice_thickness_mm": series.slice_thickness_mm,
        "slice_spacing_mm": series.slice_spacing_mm,
        "angled_stack": series.is_angled_stack,
        "echo_time_ms": series.echo_time_ms,
        "repetition_time_ms": series.repetition_time_ms,
        "manufacturer": series.manufacturer,
    }


def study_as_json(study: Study) -> dict[str, Any]:
    """The documented JSON object (no patient data)."""
    from engine import __version__

    report = study.load_report
    return {
        "engine_version": __version__,
        "study_instance_uid": study.study_instance_uid,
        "study_date": study.study_date,
        "description": study.description,
        "root": str(study.root),
        "series": [_series_json(s) for s in study.series],
        "set_aside": [
            {
                "series_instance_uid": s.series_instance_uid,
                "description": s.description,
                "modality": s.modality,
                "reason": s.reason,
                "file_count": s.file_count,
            }
            for s in study.set_aside
        ],
        "load_report": {
            "files_found": report.files_found,
            "files_loaded": report.files_loaded,
            "cancelled": report.cancelled,
            "issues": [
                {"severity": i.severity.value, "path": i.path, "reason": i.reason} for i in report.issues
            ],
        },
    }


def _mm(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def study_as_text(study: Study) -> str:
    """Human-readable summary (no patient data)."""
    lines = [
        f"Study {study.study_instance_uid or '-'}  date {study.study_date or '-'}  {study.description}".rstrip(),
        f"{len(study.series)} MR series, {len(study.set_aside)} set aside",
        "",
    ]
    header = (
        "#",
        "Description",
        "Orientation",
        "Sequence",
        "Slices",
        "Matrix",
        "Pixel mm",
        "Thick mm",
        "Gap mm",
        "Angled",
    )
    rows = [header]
    for s in study.series:
        number = "?" if s.series_number is None else str(s.series_number)
        if s.split_part is not None:
            number += f".{s.split_part}"
        spacing = s.pixel_spacing_mm
        rows.append(
            (
                number,
                s.description or "-",
                s.orientation.value,
                s.sequence.value,
                str(len(s.slices)),
                f"{s.matrix[0]}x{s.matrix[1]}" if s.matrix else "-",
                f"{_mm(spacing[0])}x{_mm(spacing[1])}" if spacing else "-",
                _mm(s.slice_thickness_mm),
                _mm(s.slice_spacing_mm),
                "yes" if s.is_angled_stack else "no",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if study.set_aside:
        lines += ["", "Set aside:"]
        lines += [
            f"  {s.modality or '?'} '{s.description}' ({s.file_count} file{'s' if s.file_count != 1 else ''}): {s.reason}"
            for s in study.set_aside
        ]
    report = study.load_report
    lines += [
        "",
        f"Load report: {report.files_found} files found, {report.files_loaded} loaded, "
        f"{len(report.issues)} line{'s' if len(report.issues) != 1 else ''}"
        + (" (load cancelled)" if report.cancelled else ""),
    ]
    lines += [f"  {i.severity.value:<9} {i.path}: {i.reason}" for i in report.issues]
    return "\n".join(lines) + "\n"

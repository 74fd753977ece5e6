"""`lss analyze STUDY_DIR --out OUT_DIR [--model NAME_OR_PATH] [--device auto|cpu|cuda]`.

Writes OUT_DIR/findings.json (schema "lss-findings", see engine.findings_io) with its masks in
findings.masks.npz, overlay PNGs per level and a sagittal overview in OUT_DIR/overlays/, and
optionally the dural sac masks as NIfTI (--nifti) or DICOM SEG (--dicom-seg) and the drafted report
as an unsigned PDF (--pdf). Prints a summary per
level. Exit codes: 3 no DICOM, 4 no sagittal or axial T2, 5 levels not found, 6 model pack invalid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.exit_codes import ExitCode


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="analyse a lumbar MRI study: level labels, dural sac masks, areas and Schizas grades",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "study_dir", metavar="STUDY_DIR", type=Path, help="DICOM folder (or file) of one study"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument(
        "--model", help="model pack folder or name (default: the bundled pack lss-default)", default=None
    )
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="where the model runs"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="ONNX Runtime threads (default: cores, at most 8)"
    )
    parser.add_argument("--no-overlays", action="store_true", help="do not write overlay PNGs")
    parser.add_argument(
        "--nifti", action="store_true", help="also write each level's dural sac mask as NIfTI"
    )
    parser.add_argument("--dicom-seg", action="store_true", help="also write the masks as DICOM SEG")
    parser.add_argument(
        "--pdf",
        action="store_true",
        help="also draft the report and write it as OUT_DIR/report.pdf (unsigned)",
    )
    parser.add_argument("--template", type=Path, help="site report template (TOML) for --pdf")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=run)


def open_model(model: str | None, device: str, threads: int | None) -> Any:
    """The segmenter for --model/--device, its sessions created (so a bad pack or device fails here)."""
    from engine.cli.main import CommandError
    from engine.runtime.model_pack import ModelPackError
    from engine.runtime.sessions import ProviderUnavailableError
    from engine.segmentation import open_segmenter

    if threads is not None and threads < 1:
        raise CommandError("--threads must be at least 1", ExitCode.USAGE)
    try:
        segmenter = open_segmenter(model, device, threads)
        segmenter.execution_providers()
    except ModelPackError as exc:
        raise CommandError(f"model pack invalid: {exc}", ExitCode.MODEL_PACK_INVALID) from exc
    except ProviderUnavailableError as exc:
        raise CommandError(str(exc), ExitCode.USAGE) from exc
    except Exception as exc:  # ONNX Runtime refuses a graph: the pack is unusable here
        raise CommandError(
            f"model pack invalid: ONNX Runtime cannot load it ({type(exc).__name__}: {exc})",
            ExitCode.MODEL_PACK_INVALID,
        ) from exc
    return segmenter


def load_dicom_study(path: Path) -> Any:
    """load_study with the CLI's exit codes for a missing path or no DICOM."""
    from engine.cli.main import CommandError
    from engine.study import NoDicomFoundError, load_study

    if not path.exists():
        raise CommandError(f"{path} does not exist", ExitCode.NO_DICOM)
    try:
        study = load_study(path)
    except NoDicomFoundError as exc:
        raise CommandError(str(exc), ExitCode.NO_DICOM) from exc
    if not study.series:
        raise CommandError(f"no MR image series in {path}", ExitCode.NO_DICOM)
    return study


def _summary_lines(result: Any) -> list[str]:
    from engine import INTENDED_USE

    findings = result.findings
    provenance = findings.provenance
    lines = [
        f"model: {provenance.model_name} {provenance.model_version} (sha256 {provenance.model_sha256[:12]})",
        f"levels found: {', '.join(d.label for d in findings.levels)}"
        + ("" if result.labelling.sacrum_identified else " (sacrum not identified)"),
        f"{'level':7} {'label conf':>10} {'grade':>5} {'P(A/B/C/D)':>23} {'DSCA mm2':>9} {'AP mm':>6} {'conf':>5}",
    ]
    confidence = {d.label: d.confidence for d in findings.levels}
    for f in findings.findings:
        probabilities = "/".join(f"{p:.2f}" for _, p in f.grade_probabilities)
        area = "-" if f.dural_sac_area_mm2 is None else f"{f.dural_sac_area_mm2:.1f}"
        ap = "-" if f.ap_diameter_mm is None else f"{f.ap_diameter_mm:.1f}"
        lines.append(
            f"{f.level:7} {confidence.get(f.level, 0.0):10.2f} {f.grade.value:>5} {probabilities:>23} "
            f"{area:>9} {ap:>6} {f.confidence:5.2f}"
        )
        lines += [f"  ! {w}" for w in f.warnings]
    lines += [f"! {w}" for w in findings.warnings]
    lines.append("time per stage: " + ", ".join(f"{t.stage} {t.seconds:.2f} s" for t in result.timings))
    lines.append(INTENDED_USE)
    return lines


def _write_nifti(out: Path, study: Any, findings: Any) -> list[Path]:
    import numpy as np

    from engine.reporting.evidence import measurement_mask
    from engine.segmentation.nifti_masks import write_mask_nifti

    written = []
    for f in findings.findings:
        mask = measurement_mask(findings, f)
        if mask is None:
            continue
        series = study.series_by_uid(mask.series_instance_uid)
        geometry = series.slices[series.slice_index_by_uid(mask.sop_instance_uid, mask.frame_index)].geometry
        written.append(
            write_mask_nifti(out / f"{f.level}-dural-sac.nii.gz", np.asarray(mask.mask)[None], [geometry])
        )
    return written


def _write_dicom_seg(out: Path, study: Any, findings: Any) -> list[Path]:
    from engine.export.dicom_seg import build_segmentations

    build = build_segmentations(study, findings.masks, first_series_number=9001)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for segmentation in build.segmentations:
        path = out / f"{segmentation.SOPInstanceUID}.dcm"
        segmentation.save_as(str(path), enforce_file_format=True)
        written.append(path)
    for warning in build.warnings:
        print(f"lss analyze: DICOM SEG: {warning}", file=sys.stderr)
    return written


def _report_template(template_path: Path | None) -> Any:
    """The report template for --pdf, read before the analysis so a bad file fails fast."""
    from engine.cli.main import CommandError
    from engine.reporting.template import TemplateError, load_report_template

    try:
        return load_report_template(template_path)
    except TemplateError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc


def run(args: argparse.Namespace) -> int:
    from engine.analysis import LevelsNotFoundError, MissingSeriesError, run_analysis
    from engine.analysis.overlays import write_overlays
    from engine.cli.main import CommandError
    from engine.findings_io import save_findings

    template = _report_template(args.template) if args.pdf else None
    segmenter = open_model(args.model, args.device, args.threads)
    study = load_dicom_study(args.study_dir)

    def progress(event: Any) -> None:
        if not args.quiet:
            print(
                f"lss analyze: [{event.fraction * 100:3.0f} %] {event.message}", file=sys.stderr, flush=True
            )

    try:
        result = run_analysis(study, segmenter, progress=progress)
    except MissingSeriesError as exc:
        raise CommandError(str(exc), ExitCode.MISSING_SERIES) from exc
    except LevelsNotFoundError as exc:
        raise CommandError(f"levels not found: {exc}", ExitCode.LEVELS_NOT_FOUND) from exc
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    written = [save_findings(result.findings, out / "findings.json")]
    if not args.no_overlays:
        written += write_overlays(out / "overlays", study, result.findings)
    if args.nifti:
        written += _write_nifti(out / "masks", study, result.findings)
    if args.dicom_seg:
        written += _write_dicom_seg(out / "dicom-seg", study, result.findings)
    if args.pdf:
        from engine.cli.report import write_draft_pdf

        written.append(write_draft_pdf(result.findings, study, out / "report.pdf", template))
    for line in _summary_lines(result):
        print(line)
    print(f"wrote {len(written)} file(s) to {out}")
    return int(ExitCode.OK)

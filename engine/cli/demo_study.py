"""`lss demo-study OUT`: write a synthetic lumbar MRI study with its ground truth (and a preview)."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.exit_codes import ExitCode


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo-study",
        help="write a synthetic lumbar MRI study (DICOM) with exact ground truth",
        description=(
            "Write a synthetic lumbar MRI study: OUT/study (sagittal T2, sagittal T1, axial T2 DICOM), "
            "OUT/ground_truth (ground_truth.json, label masks as NIfTI, reference report). "
            "Synthetic data for demos, tests and training; not a patient."
        ),
    )
    parser.add_argument(
        "out", help="output folder (created; must not already hold a study unless --overwrite)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same study")
    parser.add_argument(
        "--grades",
        help="force Schizas grades L1-L2..L5-S1, e.g. A,B,C,D,A (default: drawn with practice-like imbalance)",
    )
    parser.add_argument(
        "--axial-style",
        choices=["continuous", "angled"],
        help="one continuous axial stack, or 3-5 slices angled parallel to each disc (default: drawn)",
    )
    parser.add_argument("--preview", action="store_true", help="also write OUT/preview.png (contact sheet)")
    parser.add_argument("--no-outlines", action="store_true", help="preview without ground-truth outlines")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier synthetic study in OUT")
    parser.add_argument("--max-matrix", type=int, help="cap image matrices (rows/columns) for quick runs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.synthetic_study import write_study_timed
    from engine.synthetic_study.grades import parse_grades
    from engine.synthetic_study.preview import render_preview

    if args.seed < 0:
        raise CommandError(f"--seed must be >= 0, got {args.seed}", ExitCode.USAGE)
    if args.max_matrix is not None and args.max_matrix < 32:
        raise CommandError(f"--max-matrix must be >= 32, got {args.max_matrix}", ExitCode.USAGE)
    try:
        grades = None if args.grades is None else parse_grades(args.grades)
    except ValueError as exc:
        raise CommandError(f"--{exc}", ExitCode.USAGE) from exc
    try:
        gt, timing = write_study_timed(
            args.out,
            args.seed,
            grades,
            args.axial_style,
            max_matrix=args.max_matrix,
            overwrite=args.overwrite,
        )
    except FileExistsError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    n_images = sum(len(s.sop_instance_uids) for s in gt.series)
    print(f"Synthetic lumbar MRI study (seed {gt.seed}, generator {gt.generator_version}) in {args.out}")
    for s in gt.series:
        style = f", {s.axial_style}" if s.axial_style else ""
        print(
            f"  series {s.series_number:>3}  {s.orientation:<8} {s.sequence}  {len(s.sop_instance_uids):>3} images  {s.description}{style}"
        )
    for lv in gt.levels:
        print(
            f"  {lv.level}: Schizas {lv.grade.value}  dural sac {lv.dural_sac_area_mm2:6.1f} mm2  AP {lv.ap_diameter_mm:4.1f} mm"
        )
    print(
        f"  {n_images} images in {timing.total_s:.2f} s "
        f"(anatomy {timing.anatomy_s:.2f} s, render {timing.render_s:.2f} s, write {timing.write_s:.2f} s)"
    )
    if args.preview:
        path = render_preview(args.out, outlines=not args.no_outlines)
        print(f"  preview: {path}")
    return int(ExitCode.OK)

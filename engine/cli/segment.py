"""`lss segment INPUT --prompt TEXT --out MASK`: text-guided segmentation of one image or series.

INPUT is a DICOM series folder, a DICOM file, or a plain PNG/JPEG slice (then --spacing MM, the
pixel size, is needed). The mask is written by the extension of --out: .png (one slice, 0/255) or
.nii / .nii.gz (slices of a DICOM series, with the DICOM geometry; one slice for a plain image).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.cli.exit_codes import ExitCode

PLAIN_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MASK_SUFFIXES = (".png", ".nii", ".nii.gz")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="segment a structure named by a text prompt on a DICOM series, DICOM file or PNG/JPEG",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", type=Path, help="DICOM folder or file, or a PNG/JPEG image")
    parser.add_argument("--prompt", required=True, help='what to segment, e.g. "dural sac at L4-L5"')
    parser.add_argument("--out", type=Path, required=True, help="mask file: .png, .nii or .nii.gz")
    parser.add_argument("--spacing", help="pixel size in mm (MM or ROW,COL) for a PNG/JPEG without a header")
    parser.add_argument(
        "--slice",
        help="0-based slice N or range FIRST:LAST (inclusive) of the series (default: middle "
        "slice for .png, every slice for NIfTI)",
    )
    parser.add_argument("--series", help="series number or SeriesInstanceUID when the folder holds several")
    parser.add_argument(
        "--plane",
        choices=["auto", "sagittal", "axial"],
        default="auto",
        help="preprocessing plane (auto: from the DICOM orientation; axial for PNG/JPEG)",
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="mask probability threshold (default 0.5)"
    )
    parser.add_argument("--model", default=None, help="model pack folder or name (default: lss-default)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.set_defaults(func=run)


def _mask_suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in sorted(MASK_SUFFIXES, key=len, reverse=True) if name.endswith(s)), None)


def parse_spacing(text: str | None) -> tuple[float, float] | None:
    """'0.7' -> (0.7, 0.7); '0.7,0.8' -> (0.7, 0.8); ValueError names the problem."""
    if text is None:
        return None
    parts = [p for p in text.replace("x", ",").split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--spacing {text!r} is not a number (mm) or ROW,COL") from None
    if len(values) not in (1, 2) or min(values) <= 0:
        raise ValueError(f"--spacing {text!r} must be one or two positive numbers (mm)")
    return (values[0], values[-1])


def parse_slices(text: str | None, count: int, default_all: bool) -> list[int]:
    """Slice indices from 'N' or 'FIRST:LAST' (inclusive, 0-based); the default when None."""
    if text is None:
        return list(range(count)) if default_all else [(count - 1) // 2]
    try:
        first, _, last = text.partition(":")
        start = int(first)
        stop = int(last) if last else start
    except ValueError:
        raise ValueError(f"--slice {text!r} is not N or FIRST:LAST") from None
    if not 0 <= start <= stop < count:
        raise ValueError(f"--slice {text!r} is outside the series (0..{count - 1})")
    return list(range(start, stop + 1))


def _read_plain_image(path: Path) -> Any:
    import cv2
    import numpy as np

    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ValueError(f"{path} is not a readable PNG/JPEG image")
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels[..., :3], cv2.COLOR_BGR2GRAY)
    return np.asarray(pixels, dtype=np.float32)


def _choose_series(study: Any, wanted: str | None) -> Any:
    from engine.cli.main import CommandError

    if wanted is not None:
        for series in study.series:
            if wanted in (series.series_instance_uid, str(series.series_number)):
                return series
        raise CommandError(f"--series {wanted}: no such series in {study.root}", ExitCode.INPUT_INVALID)
    if len(study.series) == 1:
        return study.series[0]
    listing = "; ".join(
        f"{s.series_number}: {s.description or '(no description)'} ({s.orientation.value} {s.sequence.value}, "
        f"{len(s)} slices)"
        for s in study.series
    )
    raise CommandError(
        f"the folder holds {len(study.series)} series, choose one with --series: {listing}",
        ExitCode.INPUT_INVALID,
    )


def _write_png(path: Path, mask: Any) -> None:
    import cv2
    import numpy as np

    from engine.atomic_file import write_bytes_atomically

    ok, encoded = cv2.imencode(".png", np.asarray(mask, dtype=np.uint8) * 255)
    if not ok:
        raise OSError(f"cannot encode {path} as PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, encoded.tobytes())


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from engine.cli.analyze import load_dicom_study, open_model
    from engine.cli.main import CommandError
    from engine.segmentation import SliceImage, segment_slices
    from engine.segmentation.nifti_masks import write_mask_nifti
    from engine.study.model import SliceGeometry

    suffix = _mask_suffix(args.out)
    if suffix is None:
        raise CommandError(
            f"--out {args.out}: the mask file must end in .png, .nii or .nii.gz", ExitCode.USAGE
        )
    if not args.prompt.strip():
        raise CommandError("--prompt is empty", ExitCode.USAGE)
    if not 0.0 < args.threshold < 1.0:
        raise CommandError("--threshold must be between 0 and 1", ExitCode.USAGE)
    try:
        spacing = parse_spacing(args.spacing)
    except ValueError as exc:
        raise CommandError(str(exc), ExitCode.USAGE) from exc
    if not args.input.exists():
        raise CommandError(f"{args.input} does not exist", ExitCode.INPUT_INVALID)
    plain = args.input.is_file() and args.input.suffix.lower() in PLAIN_IMAGE_SUFFIXES
    if plain and spacing is None:
        raise CommandError(
            f"{args.input} has no header: give its pixel size with --spacing MM", ExitCode.USAGE
        )
    segmenter = open_model(args.model, args.device, None)

    if plain:
        try:
            pixels = _read_plain_image(args.input)
        except ValueError as exc:
            raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
        assert spacing is not None
        plane = "axial" if args.plane == "auto" else args.plane
        result = segmenter.segment(SliceImage(pixels, spacing, plane), [args.prompt.strip()])[0]
        mask = result.mask_probability >= args.threshold
        if suffix == ".png":
            _write_png(args.out, mask)
        else:
            geometry = SliceGeometry(
                (0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), spacing, mask.shape[0], mask.shape[1]
            )
            write_mask_nifti(args.out, mask[None], [geometry])
        print(f"{args.out}: {int(mask.sum())} pixels, {mask.sum() * spacing[0] * spacing[1]:.1f} mm²")
        return int(ExitCode.OK)

    study = load_dicom_study(args.input)
    series = _choose_series(study, args.series)
    try:
        indices = parse_slices(args.slice, len(series), default_all=suffix != ".png")
    except ValueError as exc:
        raise CommandError(str(exc), ExitCode.USAGE) from exc
    if suffix == ".png" and len(indices) != 1:
        raise CommandError(
            "a PNG holds one slice: give --slice N, or write .nii.gz for a range", ExitCode.USAGE
        )
    plane = None if args.plane == "auto" else args.plane
    try:
        masks = segment_slices(series, indices, args.prompt, segmenter, threshold=args.threshold, plane=plane)
    except ValueError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    stack = np.stack([m.mask for m in masks])
    if suffix == ".png":
        _write_png(args.out, stack[0])
    else:
        geometries = [series.slices[i].geometry for i in indices]
        write_mask_nifti(args.out, stack, geometries)
    spacing_mm = series.pixel_spacing_mm or (1.0, 1.0)
    area = stack.sum() * spacing_mm[0] * spacing_mm[1]
    print(f"{args.out}: {len(indices)} slice(s), {int(stack.sum())} pixels, {area:.1f} mm² in all")
    return int(ExitCode.OK)

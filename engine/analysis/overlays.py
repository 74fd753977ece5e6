"""Overlay PNGs of an analysis: per level the key axial slice with the dural sac outline and the
level, grade and measurements; a sagittal overview with the level labels. Each image carries the
model version and the intended use. numpy + Pillow."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine import INTENDED_USE, __version__
from engine.atomic_file import write_bytes_atomically
from engine.export.key_images import key_image_caption, key_images_for_findings, windowed
from engine.findings import StudyFindings
from engine.study.model import Study

_FONT = Path(__file__).resolve().parents[2] / "resources" / "fonts" / "DejaVuSans.ttf"
_LABEL_COLOUR = (255, 220, 60)
_TEXT_COLOUR = (255, 255, 255)
_BANNER_COLOUR = (0, 0, 0)


@dataclass(frozen=True)
class OverlayImage:
    name: str  # file name, e.g. "L4-L5.png"
    png: bytes
    caption: str


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(_FONT), size) if _FONT.is_file() else ImageFont.load_default()


def _model_line(findings: StudyFindings) -> str:
    p = findings.provenance
    model = "model unknown" if p is None else f"model {p.model_name} {p.model_version}"
    return f"LSS Desktop {__version__}, {model}"


def _with_banners(rgb: np.ndarray, title: str, findings: StudyFindings) -> bytes:
    """The image with a title banner above and the model / intended-use footer below, as PNG."""
    width = rgb.shape[1]
    title_font, small = _font(max(13, width // 30)), _font(max(10, width // 48))
    footer = [_model_line(findings), *_wrap(INTENDED_USE, small, width - 12)]
    line = int(small.getbbox("Ag")[3]) + 3
    title_lines = _wrap(title, title_font, width - 12)
    title_line = int(title_font.getbbox("Ag")[3]) + 4
    top = title_line * len(title_lines) + 8
    canvas = Image.new("RGB", (width, rgb.shape[0] + top + line * len(footer) + 8), _BANNER_COLOUR)
    canvas.paste(Image.fromarray(rgb, "RGB"), (0, top))
    draw = ImageDraw.Draw(canvas)
    for k, text in enumerate(title_lines):
        draw.text((6, 4 + k * title_line), text, fill=_TEXT_COLOUR, font=title_font)
    for k, text in enumerate(footer):
        draw.text((6, top + rgb.shape[0] + 4 + k * line), text, fill=(200, 200, 200), font=small)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def level_overlays(study: Study, findings: StudyFindings, size_px: int = 420) -> list[OverlayImage]:
    """One overlay per level finding with a key slice in the study (key image with the mask)."""
    images = []
    by_level = {f.level: f for f in findings.findings}
    for key in key_images_for_findings(findings, study, size_px=size_px).images:
        finding = by_level[key.level]
        rgb = np.asarray(Image.open(io.BytesIO(key.png)).convert("RGB"))
        caption = f"{key_image_caption(finding)} · confidence {finding.confidence:.2f}"
        images.append(OverlayImage(f"{key.level}.png", _with_banners(rgb, caption, findings), caption))
    return images


def sagittal_overview(study: Study, findings: StudyFindings, size_px: int = 560) -> OverlayImage | None:
    """The sagittal slice the discs were found on, with every disc's label at its centre."""
    discs = (*findings.levels, *findings.other_discs)
    if not discs:
        return None
    try:
        series = study.series_by_uid(discs[0].sagittal_series_uid)
        index = series.slice_index_by_uid(discs[0].sagittal_sop_instance_uid)
    except KeyError:
        return None
    image = series.slices[index]
    if image.geometry is None:
        return None
    geometry = image.geometry
    grey = windowed(series.slice_pixels(index), image.window_centre, image.window_width)
    row_mm, col_mm = geometry.pixel_spacing_mm
    # Square millimetre pixels: scale rows and columns to the same mm per output pixel.
    height_mm, width_mm = grey.shape[0] * row_mm, grey.shape[1] * col_mm
    scale = size_px / max(height_mm, width_mm)
    out_size = (max(1, round(width_mm * scale)), max(1, round(height_mm * scale)))
    picture = Image.fromarray((grey * 255).astype(np.uint8), "L").resize(out_size, Image.Resampling.BILINEAR)
    canvas = picture.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    font = _font(max(11, size_px // 40))
    for disc in discs:
        row, column, _ = geometry.lps_to_pixel(np.asarray(disc.centre_lps))
        x, y = (column + 0.5) * col_mm * scale, (row + 0.5) * row_mm * scale
        colour = _LABEL_COLOUR if disc in findings.levels else (160, 160, 160)
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
        finding = findings.finding_for(disc.label)
        text = disc.label if finding is None else f"{disc.label} {finding.grade.value}"
        if disc.label_overridden:
            text += " (edited)"
        draw.text(
            (x + 8, y), text, fill=colour, font=font, anchor="lm", stroke_width=2, stroke_fill=(0, 0, 0)
        )
    caption = "Disc levels on the mid-sagittal slice"
    return OverlayImage("sagittal-levels.png", _with_banners(np.asarray(canvas), caption, findings), caption)


def write_overlays(out_dir: Path, study: Study, findings: StudyFindings) -> list[Path]:
    """Write the level overlays and the sagittal overview as PNG files in out_dir; their paths."""
    images = level_overlays(study, findings)
    overview = sagittal_overview(study, findings)
    if overview is not None:
        images.append(overview)
    return [write_bytes_atomically(out_dir / image.name, image.png) for image in images]

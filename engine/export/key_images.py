"""Key images for reports: the key axial slice of a level, cropped around the canal, with the dural
sac mask drawn over it, a 10 mm scale bar and orientation letters. numpy + Pillow, no display.

Colours: the mask as the software drew it is amber, a mask a person edited is magenta; each is a
translucent fill with a solid outline so the sac border stays visible underneath.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.findings import LevelFinding, StudyFindings
from engine.reporting.evidence import measurement_mask
from engine.reporting.measurement_text import AREA_UNIT, format_ap_diameter, format_dural_sac_area
from engine.study.model import SliceGeometry, Study

log = logging.getLogger(__name__)

OVERLAY_SOFTWARE_RGB = (255, 190, 0)  # amber
OVERLAY_PERSON_RGB = (230, 40, 200)  # magenta
FILL_ALPHA = 0.25
SCALE_BAR_MM = 10.0
_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path(__file__).resolve().parents[2] / "resources" / "fonts" / "DejaVuSans-Bold.ttf",
)


@dataclass(frozen=True)
class KeyImage:
    """A rendered key image (RGB PNG) with what it shows."""

    level: str
    png: bytes
    size_px: int  # square
    field_of_view_mm: float  # width of the shown area
    series_instance_uid: str
    sop_instance_uid: str
    frame_index: int | None
    instance_number: int | None
    series_description: str
    mask_edited_by_person: bool | None  # None: no mask on this slice
    caption: str


@dataclass(frozen=True)
class KeyImageSet:
    images: tuple[KeyImage, ...]
    missing: tuple[str, ...]  # "L1-L2: why no key image", in level order


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_CANDIDATES:
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default()


def windowed(pixels: np.ndarray, centre: float | None, width: float | None) -> np.ndarray:
    """Grey levels 0..1 through the DICOM window, or the 1-99.5 percentile range without one."""
    p = np.asarray(pixels, dtype=np.float64)
    if centre is None or width is None or width <= 0:
        lo, hi = np.percentile(p, (1.0, 99.5))
    else:
        lo, hi = centre - width / 2.0, centre + width / 2.0
    return np.clip((p - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def _direction_letter(vector: tuple[float, float, float]) -> str:
    """The patient direction an image axis points to (LPS): L/R, P/A, H/F."""
    axis = int(np.argmax(np.abs(vector)))
    positive = vector[axis] > 0
    return (("L", "R"), ("P", "A"), ("H", "F"))[axis][0 if positive else 1]


def _outline(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask whose 4-neighbourhood leaves the mask (a 1-pixel border)."""
    m = np.pad(mask, 1)
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def render_key_image(
    pixels: np.ndarray,
    mask: np.ndarray | None,
    geometry: SliceGeometry,
    window: tuple[float | None, float | None] = (None, None),
    mask_edited_by_person: bool = False,
    field_of_view_mm: float = 90.0,
    size_px: int = 420,
) -> np.ndarray:
    """RGB uint8 (size_px, size_px): the slice resampled to square pixels, cropped to
    `field_of_view_mm` around the mask (or the image centre), mask overlaid, scale bar and
    orientation letters drawn. `pixels` and `mask` are (rows, columns) as stored."""
    rows, cols = pixels.shape
    row_mm, col_mm = geometry.pixel_spacing_mm
    if mask is not None and mask.shape != pixels.shape:
        raise ValueError(f"mask shape {mask.shape} differs from the image {pixels.shape}")
    if mask is not None and mask.any():
        rr, cc = np.nonzero(mask)
        centre_r, centre_c = float(rr.mean()), float(cc.mean())
    else:
        centre_r, centre_c = (rows - 1) / 2.0, (cols - 1) / 2.0
    # Output pixel (y, x) samples the source at this row/column: square mm pixels, no distortion.
    mm_per_out = field_of_view_mm / size_px
    offsets = (np.arange(size_px) - (size_px - 1) / 2.0) * mm_per_out
    src_r = centre_r + offsets / row_mm
    src_c = centre_c + offsets / col_mm
    grey = windowed(pixels, *window)
    image = _bilinear(grey, src_r, src_c)
    rgb = np.repeat((image * 255.0)[..., None], 3, axis=2)
    if mask is not None:
        nearest_r = np.clip(np.rint(src_r).astype(int), 0, rows - 1)
        nearest_c = np.clip(np.rint(src_c).astype(int), 0, cols - 1)
        inside_r = (src_r >= -0.5) & (src_r <= rows - 0.5)
        inside_c = (src_c >= -0.5) & (src_c <= cols - 0.5)
        shown = mask[np.ix_(nearest_r, nearest_c)] & np.outer(inside_r, inside_c)
        colour = np.asarray(OVERLAY_PERSON_RGB if mask_edited_by_person else OVERLAY_SOFTWARE_RGB, float)
        rgb[shown] = (1.0 - FILL_ALPHA) * rgb[shown] + FILL_ALPHA * colour
        border = _outline(shown)
        border = border | np.roll(border, 1, axis=1)  # 2 px wide at this output size
        rgb[border] = colour
    out = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    _annotate(out, geometry, mm_per_out)
    return np.asarray(out)


def _bilinear(image: np.ndarray, src_r: np.ndarray, src_c: np.ndarray) -> np.ndarray:
    """Sample `image` at the grid src_r x src_c (bilinear; black outside the image)."""
    rows, cols = image.shape
    r0 = np.floor(src_r).astype(int)
    c0 = np.floor(src_c).astype(int)
    fr = (src_r - r0)[:, None]
    fc = (src_c - c0)[None, :]
    padded = np.pad(image, 1)

    def at(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return padded[np.ix_(np.clip(r + 1, 0, rows + 1), np.clip(c + 1, 0, cols + 1))]

    top = at(r0, c0) * (1 - fc) + at(r0, c0 + 1) * fc
    bottom = at(r0 + 1, c0) * (1 - fc) + at(r0 + 1, c0 + 1) * fc
    return np.asarray(top * (1 - fr) + bottom * fr)


def _annotate(image: Image.Image, geometry: SliceGeometry, mm_per_px: float) -> None:
    draw = ImageDraw.Draw(image)
    size = image.width
    font = _font(max(12, size // 28))
    bar = round(SCALE_BAR_MM / mm_per_px)
    x1, y = size - 14, size - 16
    draw.rectangle((x1 - bar, y - 3, x1, y), fill=(255, 255, 255))
    draw.text((x1 - bar / 2, y - 6), f"{SCALE_BAR_MM:.0f} mm", fill=(255, 255, 255), font=font, anchor="md")
    right = _direction_letter(geometry.row_direction)  # columns increase to the right
    down = _direction_letter(geometry.column_direction)  # rows increase downwards
    opposite = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}
    letters = (
        ((size / 2, 6), opposite[down], "ma"),
        ((size / 2, size - 6), down, "md"),
        ((6, size / 2), opposite[right], "lm"),
        ((size - 6, size / 2), right, "rm"),
    )
    for position, letter, anchor in letters:
        draw.text(position, letter, fill=(255, 255, 90), font=font, anchor=anchor)


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def key_image_caption(finding: LevelFinding) -> str:
    parts = [finding.level, f"Schizas {finding.grade.value}"]
    if finding.dural_sac_area_mm2 is not None:
        parts.append(f"DSCA {format_dural_sac_area(finding.dural_sac_area_mm2)} {AREA_UNIT}")
    if finding.ap_diameter_mm is not None:
        parts.append(f"AP {format_ap_diameter(finding.ap_diameter_mm)} mm")
    return " · ".join(parts)


def key_images_for_findings(
    findings: StudyFindings, study: Study, size_px: int = 420, field_of_view_mm: float = 90.0
) -> KeyImageSet:
    """One key image per level finding with a key slice in the study. A level whose slice cannot be
    shown is listed in `missing` with the reason; the others are still rendered."""
    images: list[KeyImage] = []
    missing: list[str] = []
    for f in findings.findings:
        if f.key_slice_sop_instance_uid is None or f.axial_series_uid is None:
            missing.append(f"{f.level}: no key slice")
            continue
        try:
            series = study.series_by_uid(f.axial_series_uid)
            index = series.slice_index_by_uid(f.key_slice_sop_instance_uid, f.key_slice_frame_index)
        except KeyError:
            missing.append(f"{f.level}: the key slice is not in the loaded study")
            continue
        image_slice = series.slices[index]
        if image_slice.geometry is None:
            missing.append(f"{f.level}: the key slice has no geometry (pixel spacing) to show it to scale")
            continue
        try:
            pixels = series.slice_pixels(index)
        except (OSError, ValueError) as exc:
            log.warning("key image of %s not rendered: %s", f.level, type(exc).__name__)
            missing.append(f"{f.level}: the key slice's pixels cannot be read")
            continue
        mask = measurement_mask(findings, f)
        rgb = render_key_image(
            pixels,
            None if mask is None else np.asarray(mask.mask, dtype=bool),
            image_slice.geometry,
            (image_slice.window_centre, image_slice.window_width),
            mask_edited_by_person=bool(mask is not None and mask.edited_by_person),
            field_of_view_mm=field_of_view_mm,
            size_px=size_px,
        )
        images.append(
            KeyImage(
                level=f.level,
                png=_png(rgb),
                size_px=size_px,
                field_of_view_mm=field_of_view_mm,
                series_instance_uid=series.series_instance_uid,
                sop_instance_uid=image_slice.sop_instance_uid,
                frame_index=image_slice.frame_index,
                instance_number=image_slice.instance_number,
                series_description=series.description,
                mask_edited_by_person=None if mask is None else mask.edited_by_person,
                caption=key_image_caption(f),
            )
        )
    return KeyImageSet(images=tuple(images), missing=tuple(missing))

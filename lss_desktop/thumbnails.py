"""Series thumbnails: the middle slice, auto-windowed, resampled with the true pixel aspect. Qt-free."""

from __future__ import annotations

import numpy as np

from engine.study.model import Series
from lss_desktop.pixel_cache import SlicePixelCache
from lss_desktop.windowing import auto_window

THUMBNAIL_SIZE = 96  # pixels along the longer side


def _resample_axis(values: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Block means when shrinking an axis to `length`, nearest samples when growing it."""
    source = values.shape[axis]
    if source >= length:
        starts = (np.arange(length) * source) // length
        sums = np.add.reduceat(values, starts, axis=axis)
        counts = np.diff(np.append(starts, source)).astype(np.float64)
        return sums / (counts[:, None] if axis == 0 else counts[None, :])
    picks = ((np.arange(length) + 0.5) * source / length).astype(int)
    return np.take(values, picks, axis=axis)


def thumbnail_pixels(
    pixels: np.ndarray, pixel_spacing_mm: tuple[float, float], size: int = THUMBNAIL_SIZE
) -> np.ndarray:
    """uint8 (h, w) thumbnail of a float (rows, columns) slice; the longer side is `size` pixels."""
    rows, columns = pixels.shape
    height_mm, width_mm = rows * pixel_spacing_mm[0], columns * pixel_spacing_mm[1]
    scale = size / max(height_mm, width_mm)
    out_h, out_w = max(1, round(height_mm * scale)), max(1, round(width_mm * scale))
    resampled = _resample_axis(_resample_axis(pixels.astype(np.float64), out_h, 0), out_w, 1)
    window = auto_window(pixels)
    low = window.centre - window.width / 2.0
    return np.clip((resampled - low) / window.width * 255.0, 0, 255).astype(np.uint8)


def series_thumbnail(series: Series, cache: SlicePixelCache, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Thumbnail of the middle slice of `series` (decoded through the shared cache)."""
    middle = len(series) // 2
    geometry = series.slices[middle].geometry
    spacing = geometry.pixel_spacing_mm if geometry is not None else (1.0, 1.0)
    return thumbnail_pixels(cache.pixels(series, middle), spacing, size)

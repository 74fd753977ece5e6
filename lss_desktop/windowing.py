"""Window/level (contrast) for MR images: defaults from DICOM, automatic windows from
percentiles, spine presets, and the right-drag rule. Qt-free.

MR intensities have no absolute scale (unlike CT Hounsfield units), so the presets are
fractions of a series' robust maximum (its 99.5th percentile) rather than fixed numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Percentiles used for the automatic window: robust against a few hot pixels and empty air.
AUTO_LOW_PERCENTILE = 1.0
AUTO_HIGH_PERCENTILE = 99.5
MIN_WIDTH = 1.0
# Screen pixels of drag that change the window by its own width (so the feel is scale-free).
DRAG_PIXELS_PER_WIDTH = 400.0


@dataclass(frozen=True)
class WindowLevel:
    """Display window in stored (rescaled) pixel units: centre and width."""

    centre: float
    width: float

    def __post_init__(self) -> None:
        if not np.isfinite(self.centre) or not np.isfinite(self.width):
            raise ValueError(f"window must be finite, got centre={self.centre}, width={self.width}")
        if self.width < MIN_WIDTH:
            object.__setattr__(self, "width", MIN_WIDTH)

    def label(self) -> str:
        return f"W {self.width:.0f}  L {self.centre:.0f}"


@dataclass(frozen=True)
class WindowPreset:
    """A named window as fractions of the series' robust maximum intensity."""

    name: str
    centre_fraction: float
    width_fraction: float

    def window_for(self, robust_max: float) -> WindowLevel:
        scale = max(float(robust_max), MIN_WIDTH)
        return WindowLevel(centre=self.centre_fraction * scale, width=self.width_fraction * scale)


# T2: keep bright CSF and disc nucleus below white so rootlets stay visible in the sac.
# T1: a narrower, lower window that separates marrow and epidural fat from muscle and CSF.
SPINE_PRESETS: tuple[WindowPreset, ...] = (
    WindowPreset("T2 spine", centre_fraction=0.45, width_fraction=1.0),
    WindowPreset("T1 spine", centre_fraction=0.40, width_fraction=0.75),
    WindowPreset("High contrast", centre_fraction=0.40, width_fraction=0.45),
)


def preset_by_name(name: str) -> WindowPreset:
    for preset in SPINE_PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(f"unknown window preset {name!r}; known: {[p.name for p in SPINE_PRESETS]}")


def robust_max(pixels: np.ndarray) -> float:
    """The 99.5th percentile of an image (stored units), the reference scale of the presets."""
    return float(np.percentile(pixels, AUTO_HIGH_PERCENTILE))


def auto_window(pixels: np.ndarray) -> WindowLevel:
    """Window spanning the 1st..99.5th percentile of `pixels` (any shape, stored units)."""
    low, high = np.percentile(pixels, [AUTO_LOW_PERCENTILE, AUTO_HIGH_PERCENTILE])
    return WindowLevel(centre=float(low + high) / 2.0, width=max(float(high - low), MIN_WIDTH))


def dragged_window(start: WindowLevel, dx_pixels: float, dy_pixels: float) -> WindowLevel:
    """Window after a right-drag of `dx_pixels` to the right and `dy_pixels` upwards from `start`.

    Dragging right widens the window (less contrast), dragging up raises the level (darker
    image); a drag of DRAG_PIXELS_PER_WIDTH pixels changes either by the starting width.
    """
    step = max(start.width, MIN_WIDTH) / DRAG_PIXELS_PER_WIDTH
    return WindowLevel(
        centre=start.centre + dy_pixels * step,
        width=max(start.width + dx_pixels * step, MIN_WIDTH),
    )

"""Overlay appearance and compositing: a colour per structure, fill or outline, opacity, and
the explanation heat map, drawn into RGBA images the viewer lays over a slice. Qt-free.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from engine.findings import SliceMask, Structure

RGB = tuple[int, int, int]

# Fixed colours for the structures the model knows; free prompts get a stable colour from a palette.
STRUCTURE_COLOURS: dict[str, RGB] = {
    Structure.DURAL_SAC.value: (255, 214, 0),
    Structure.SPINAL_CANAL.value: (0, 200, 255),
    Structure.INTERVERTEBRAL_DISC.value: (60, 220, 90),
    Structure.VERTEBRA.value: (90, 120, 255),
    Structure.POSTERIOR_EPIDURAL_FAT.value: (255, 120, 40),
}
_PROMPT_PALETTE: tuple[RGB, ...] = (
    (255, 80, 170),
    (170, 110, 255),
    (120, 255, 220),
    (255, 170, 120),
    (200, 255, 80),
)


def structure_colour(structure: str) -> RGB:
    """The legend colour of a structure (a Structure value or a free text prompt)."""
    known = STRUCTURE_COLOURS.get(structure.strip().lower())
    if known is not None:
        return known
    digest = hashlib.sha256(structure.strip().lower().encode("utf-8")).digest()
    return _PROMPT_PALETTE[digest[0] % len(_PROMPT_PALETTE)]


class OverlayStyle(StrEnum):
    FILL = "fill"
    OUTLINE = "outline"


@dataclass(frozen=True)
class OverlaySettings:
    """How masks and the explanation map are shown; structures are visible unless hidden."""

    opacity: float = 0.45  # 0..1, applied to filled masks and the heat map
    style: OverlayStyle = OverlayStyle.FILL
    hidden_structures: frozenset[str] = field(default_factory=frozenset)
    show_masks: bool = True
    show_explanation: bool = False
    show_level_labels: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "style", OverlayStyle(self.style))  # Qt item data hands back plain str
        object.__setattr__(self, "hidden_structures", frozenset(self.hidden_structures))
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"overlay opacity must be within 0..1, got {self.opacity}")


def mask_outline(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels of a boolean mask (rows, columns): mask pixels with a 4-neighbour outside."""
    m = np.asarray(mask, dtype=bool)
    padded = np.pad(m, 1, mode="constant", constant_values=False)
    interior = (
        padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:] & padded[1:-1, 1:-1]
    )
    return m & ~interior


def compose_masks_rgba(
    masks: Iterable[SliceMask], shape: tuple[int, int], settings: OverlaySettings
) -> np.ndarray | None:
    """RGBA uint8 (rows, columns, 4) with every visible mask in its colour; None when nothing shows.

    Masks whose shape differs from `shape` (rows, columns) are ignored: they belong to another matrix.
    Outlines are drawn opaque so they stay visible at low opacity.
    """
    if not settings.show_masks:
        return None
    rgba = np.zeros((*shape, 4), dtype=np.uint8)
    drawn = False
    for item in masks:
        if item.structure in settings.hidden_structures or item.mask.shape != shape:
            continue
        region = mask_outline(item.mask) if settings.style is OverlayStyle.OUTLINE else item.mask.astype(bool)
        if not region.any():
            continue
        alpha = 255 if settings.style is OverlayStyle.OUTLINE else round(255 * settings.opacity)
        rgba[region, :3] = structure_colour(item.structure)
        rgba[region, 3] = alpha
        drawn = True
    return rgba if drawn else None


def _heat_colours(values: np.ndarray) -> np.ndarray:
    """A black-body ramp (dark red -> yellow -> white) for values 0..1, float (..., 3) in 0..1."""
    v = np.clip(values, 0.0, 1.0)
    red = np.clip(v * 2.5, 0.0, 1.0)
    green = np.clip(v * 2.5 - 1.0, 0.0, 1.0)
    blue = np.clip(v * 3.0 - 2.0, 0.0, 1.0)
    return np.stack([red, green, blue], axis=-1)


def explanation_rgba(heat: np.ndarray, settings: OverlaySettings) -> np.ndarray | None:
    """RGBA uint8 (rows, columns, 4) of an explanation map (float 0..1); alpha grows with the value."""
    if not settings.show_explanation:
        return None
    values = np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.round(_heat_colours(values) * 255).astype(np.uint8)
    rgba[..., 3] = np.round(np.sqrt(values) * settings.opacity * 255).astype(np.uint8)
    return rgba

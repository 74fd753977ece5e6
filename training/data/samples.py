"""Training examples: one (slice, prompt) pair with its target mask, grade and crop centre."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.findings import Structure
from engine.prompt_vocabulary import Prompt

# Class index of each structure in the losses (the order of engine.findings.Structure).
STRUCTURE_CLASSES: tuple[Structure, ...] = tuple(Structure)
UNKNOWN_GRADE = -1


class SliceReader(Protocol):
    """Reads one 2D slice and its label map on the same pixel grid (picklable for loader workers)."""

    def pixels(self) -> np.ndarray:
        """Image (rows, cols), any numeric dtype (stored values after rescale)."""
        ...

    def labels(self) -> np.ndarray:
        """Integer label map (rows, cols), aligned with pixels()."""
        ...


@dataclass(frozen=True)
class SliceSource:
    """One slice: a unique key (cache), its group (patient or study: the unit of splitting), plane
    ('sagittal' or 'axial'), pixel spacing (row, col) mm, and its reader."""

    key: str
    group: str
    plane: str
    spacing_mm: tuple[float, float]
    reader: SliceReader


@dataclass(frozen=True)
class PromptSample:
    """One training example: the prompt, the label ids whose union is its mask, the grade index
    (0..3 for A..D, UNKNOWN_GRADE when the prompt carries none) and the crop centre (row, col)."""

    source: SliceSource
    prompt: Prompt
    label_ids: tuple[int, ...]
    grade: int
    centre_rc: tuple[float, float] | None

    @property
    def structure_class(self) -> int:
        return STRUCTURE_CLASSES.index(self.prompt.structure)


def mask_centroid(mask: np.ndarray) -> tuple[float, float] | None:
    """(row, col) centroid of a boolean mask, None if empty."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    return float(rows.mean()), float(cols.mean())

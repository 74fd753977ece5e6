"""The text prompts the segmentation model is trained on and asked with.

A prompt names one structure, optionally at one disc level ("dural sac at L4-L5"). Level words are
used where the answer depends on the level: the dural sac, whose Schizas grade is read per level.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.findings import DISC_LEVELS, Structure
from engine.study.model import Orientation

SAGITTAL_STRUCTURES: tuple[Structure, ...] = (
    Structure.VERTEBRA,
    Structure.INTERVERTEBRAL_DISC,
    Structure.SPINAL_CANAL,
)
AXIAL_STRUCTURES: tuple[Structure, ...] = (Structure.DURAL_SAC, Structure.POSTERIOR_EPIDURAL_FAT)
# Structures whose prompts carry the disc level, because the grade is read per level.
LEVEL_SPECIFIC_STRUCTURES: tuple[Structure, ...] = (Structure.DURAL_SAC,)


@dataclass(frozen=True)
class Prompt:
    """One text prompt: a structure on one plane, optionally at a disc level (one of DISC_LEVELS)."""

    structure: Structure
    orientation: Orientation
    level: str | None = None

    def __post_init__(self) -> None:
        if self.level is not None and self.level not in DISC_LEVELS:
            raise ValueError(f"unknown disc level {self.level!r}; expected one of {', '.join(DISC_LEVELS)}")

    @property
    def text(self) -> str:
        return self.structure.value if self.level is None else f"{self.structure.value} at {self.level}"


def prompt_for(structure: Structure, orientation: Orientation, level: str | None = None) -> Prompt:
    """The prompt for a structure; the level is kept only for level-specific structures."""
    return Prompt(structure, orientation, level if structure in LEVEL_SPECIFIC_STRUCTURES else None)


def prompt_vocabulary() -> tuple[Prompt, ...]:
    """Every prompt the model knows: sagittal structures, axial structures, level-specific variants."""
    prompts = [Prompt(s, Orientation.SAGITTAL) for s in SAGITTAL_STRUCTURES]
    for structure in AXIAL_STRUCTURES:
        prompts.append(Prompt(structure, Orientation.AXIAL))
        if structure in LEVEL_SPECIFIC_STRUCTURES:
            prompts.extend(Prompt(structure, Orientation.AXIAL, level) for level in DISC_LEVELS)
    return tuple(prompts)

"""Disc levels: discs found on the sagittal series and labelled from the sacrum up, a person's
relabelling (by name or by dropping a label on a disc), and which axial slice shows which level."""

from engine.levels.axial_assignment import AxialSliceLevel, assign_axial_slices_to_levels, key_slices
from engine.levels.disc_detection import DiscCandidate, find_disc_candidates
from engine.levels.label_drop import DISC_LABEL_SEQUENCE, relabelling_for_dropped_label
from engine.levels.labelling import (
    CAUDAL_TO_CRANIAL_LABELS,
    LabelledDisc,
    LevelLabelling,
    LevelsNotFoundError,
    label_disc_levels,
)
from engine.levels.override import LevelLabelError, override_level_labels

__all__ = [
    "CAUDAL_TO_CRANIAL_LABELS",
    "DISC_LABEL_SEQUENCE",
    "AxialSliceLevel",
    "DiscCandidate",
    "LabelledDisc",
    "LevelLabelError",
    "LevelLabelling",
    "LevelsNotFoundError",
    "assign_axial_slices_to_levels",
    "find_disc_candidates",
    "key_slices",
    "label_disc_levels",
    "override_level_labels",
    "relabelling_for_dropped_label",
]

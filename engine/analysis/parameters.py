"""The constants of a study analysis, in one frozen record that goes into every finding's provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.levels.axial_assignment import DEFAULT_ANGLE_WEIGHT_MM_PER_DEG, DEFAULT_MAX_KEY_SLICE_DISTANCE_MM


@dataclass(frozen=True)
class AnalysisParameters:
    """How a study is analysed.

    sagittal_candidate_slices: the middle slices of the sagittal series segmented to find the one
        with the largest canal (the mid-sagittal slice).
    mask_threshold: mask probability at or above which a pixel belongs to a structure (0..1).
    level_words_in_prompt: ask for "dural sac at L4-L5" (as the model was trained) rather than
        "dural sac".
    max_key_slice_distance_mm: a level whose nearest axial slice is farther from the disc plane
        (at the canal) is not graded.
    angle_weight_mm_per_deg: tilt between slice and disc, weighed as mm of distance when choosing
        the key slice.
    disagreement_confidence_factor: the finding's confidence is multiplied by this when the grade
        and the dural sac area thresholds disagree.
    recentre_sagittal_mm: re-segment the mid-sagittal slice centred on the canal when the canal
        lies farther than this from the image centre and the model does not see the whole image.
    """

    sagittal_candidate_slices: int = 3
    mask_threshold: float = 0.5
    level_words_in_prompt: bool = True
    max_key_slice_distance_mm: float = DEFAULT_MAX_KEY_SLICE_DISTANCE_MM
    angle_weight_mm_per_deg: float = DEFAULT_ANGLE_WEIGHT_MM_PER_DEG
    disagreement_confidence_factor: float = 0.6
    recentre_sagittal_mm: float = 15.0

    def __post_init__(self) -> None:
        if self.sagittal_candidate_slices < 1:
            raise ValueError("sagittal_candidate_slices must be at least 1")
        if not 0.0 < self.mask_threshold < 1.0:
            raise ValueError(f"mask_threshold must be between 0 and 1, got {self.mask_threshold}")
        if self.max_key_slice_distance_mm <= 0:
            raise ValueError("max_key_slice_distance_mm must be > 0")
        if not 0.0 <= self.disagreement_confidence_factor <= 1.0:
            raise ValueError("disagreement_confidence_factor must be between 0 and 1")

    def as_provenance(self) -> tuple[tuple[str, str], ...]:
        """(name, value) pairs for Provenance.parameters."""
        return tuple((k, str(v)) for k, v in asdict(self).items())

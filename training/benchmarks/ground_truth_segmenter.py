"""A segmenter that answers from a synthetic study's ground-truth label volumes instead of a model.

It isolates everything around the model (level finding, axial assignment, key slices,
measurement, grading logic) for tests and for `lss bench analyze --oracle`: with perfect masks,
what is left of the dural sac area error is the geometry's (key slice position, obliquity,
pixel size). Masks are the structures of the slice; "dural sac at L4-L5" gets L4-L5's true grade.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine import __version__
from engine.findings import Provenance
from engine.runtime.segmenter import PromptResult
from engine.segmentation.segmenter import SliceImage
from engine.synthetic_study import GroundTruth

ORACLE_SHA256 = "0" * 64
# The grade head of a perfect model: most of the probability on the true grade.
TRUE_GRADE_PROBABILITY = 0.85


class GroundTruthSegmenter:
    """Ground-truth masks and grades of one synthetic study (see the module docstring).

    hide(structure, mask, image) -> mask: lets a test remove parts of the answer (a missed disc,
    a field of view without the sacrum).
    """

    def __init__(
        self, truth: GroundTruth, hide: Callable[[str, np.ndarray, SliceImage], np.ndarray] | None = None
    ):
        self.truth = truth
        self.hide = hide
        self.calls = 0
        self._labels: dict[str, np.ndarray] = {}
        for series in truth.series:
            volume = truth.load_mask(series)
            for index, uid in enumerate(series.sop_instance_uids):
                self._labels[uid] = volume[index]
        self._grades = {lv.level: lv.grade.value for lv in truth.levels}

    def segment(
        self, image: SliceImage, prompts: Sequence[str], centre_rc: tuple[float, float] | None = None
    ) -> list[PromptResult]:
        assert image.image_slice is not None, "the oracle answers for study slices only"
        self.calls += 1
        labels = self._labels[image.image_slice.sop_instance_uid]
        results = []
        for prompt in prompts:
            structure, _, level = prompt.partition(" at ")
            mask = self.truth.structure_mask(labels, structure).astype(np.float32)
            if self.hide is not None:
                mask = self.hide(structure, mask, image)
            grade = self._grades.get(level)
            rest = (1.0 - TRUE_GRADE_PROBABILITY) / 3.0
            probabilities = tuple(
                (g, (TRUE_GRADE_PROBABILITY if g == grade else rest) if grade else 0.25) for g in "ABCD"
            )
            results.append(PromptResult(prompt, mask, probabilities, mask.copy()))
        return results

    def field_of_view_mm(self, plane: str) -> float:
        return float("inf")

    def provenance(self, parameters: tuple[tuple[str, str], ...] = ()) -> Provenance:
        return Provenance("ground-truth oracle", "1", ORACLE_SHA256, __version__, parameters)

    def execution_providers(self) -> list[str]:
        return ["ground truth"]

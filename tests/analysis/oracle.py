"""Worker segmenter factories over the ground-truth oracle (importable by name in a spawned worker)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.findings import Provenance
from engine.runtime.segmenter import PromptResult
from engine.segmentation.segmenter import SliceImage
from engine.synthetic_study import read_ground_truth
from training.benchmarks.ground_truth_segmenter import (
    ORACLE_SHA256,
    TRUE_GRADE_PROBABILITY,
    GroundTruthSegmenter,
)

__all__ = [
    "ORACLE_SHA256",
    "TRUE_GRADE_PROBABILITY",
    "GroundTruthSegmenter",
    "oracle_for_study",
    "slow_oracle_for_study",
]


def oracle_for_study(model: str | Path | None, device: str = "auto") -> GroundTruthSegmenter:
    """Worker segmenter factory: `model` is the synthetic study's output folder (OUT)."""
    assert model is not None
    return GroundTruthSegmenter(read_ground_truth(Path(model)))


class _SlowSegmenter:
    """The oracle, taking `delay_s` per call: keeps a worker busy long enough to kill or cancel it."""

    def __init__(self, inner: GroundTruthSegmenter, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s

    def segment(
        self, image: SliceImage, prompts: Sequence[str], centre_rc: tuple[float, float] | None = None
    ) -> list[PromptResult]:
        import time

        time.sleep(self.delay_s)
        return self.inner.segment(image, prompts, centre_rc)

    def field_of_view_mm(self, plane: str) -> float:
        return self.inner.field_of_view_mm(plane)

    def provenance(self, parameters: tuple[tuple[str, str], ...] = ()) -> Provenance:
        return self.inner.provenance(parameters)

    def execution_providers(self) -> list[str]:
        return self.inner.execution_providers()


def slow_oracle_for_study(model: str | Path | None, device: str = "auto") -> _SlowSegmenter:
    """Worker segmenter factory: the oracle with 1 s per segmentation call."""
    return _SlowSegmenter(oracle_for_study(model, device), 1.0)

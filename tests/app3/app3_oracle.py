"""Segmenter factories for the app's analysis tests, importable by name in the spawned worker
process and in the window ('app3_oracle:oracle_for_study'): the ground-truth segmenter of a
synthetic study (training.benchmarks, numpy only: no torch in the GUI process), optionally slowed
down so a test can cancel or kill the worker mid-analysis, or kept busy like a model's inference."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.findings import Provenance
from engine.runtime.segmenter import PromptResult
from engine.segmentation.segmenter import SliceImage
from engine.synthetic_study import read_ground_truth
from training.benchmarks.ground_truth_segmenter import GroundTruthSegmenter

SLOW_DELAY_S = 0.5
BUSY_S = 0.4
ORACLE = "app3_oracle:oracle_for_study"
SLOW_ORACLE = "app3_oracle:slow_oracle_for_study"
BUSY_ORACLE = "app3_oracle:busy_oracle_for_study"


def oracle_for_study(model: str | Path | None, device: str = "auto") -> GroundTruthSegmenter:
    """`model` is the synthetic study's output folder (OUT, with OUT/ground_truth)."""
    if model is None:
        raise ValueError("the oracle needs the synthetic study's folder as its model")
    return GroundTruthSegmenter(read_ground_truth(Path(model)))


class SlowSegmenter:
    """The oracle taking `seconds` per call, asleep (an analysis long enough to cancel or kill) or
    busy computing (the CPU load of a model's inference, for the latency benchmark)."""

    def __init__(self, inner: GroundTruthSegmenter, seconds: float, busy: bool) -> None:
        self.inner, self.seconds, self.busy = inner, seconds, busy

    def segment(
        self, image: SliceImage, prompts: Sequence[str], centre_rc: tuple[float, float] | None = None
    ) -> list[PromptResult]:
        if self.busy:
            deadline = time.perf_counter() + self.seconds
            field = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
            while time.perf_counter() < deadline:
                field = np.fft.irfft2(np.fft.rfft2(field), s=field.shape).astype(np.float32)
        else:
            time.sleep(self.seconds)
        return self.inner.segment(image, prompts, centre_rc)

    def field_of_view_mm(self, plane: str) -> float:
        return self.inner.field_of_view_mm(plane)

    def provenance(self, parameters: tuple[tuple[str, str], ...] = ()) -> Provenance:
        return self.inner.provenance(parameters)

    def execution_providers(self) -> list[str]:
        return self.inner.execution_providers()


def slow_oracle_for_study(model: str | Path | None, device: str = "auto") -> SlowSegmenter:
    return SlowSegmenter(oracle_for_study(model, device), SLOW_DELAY_S, busy=False)


def busy_oracle_for_study(model: str | Path | None, device: str = "auto") -> SlowSegmenter:
    return SlowSegmenter(oracle_for_study(model, device), BUSY_S, busy=True)

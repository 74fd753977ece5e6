"""One model's results on one set of cases, and the summary that `lss evaluate` writes as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.evaluation.classification import ClassificationMetrics, classification_metrics
from engine.evaluation.mcnemar import mcnemar_test
from engine.evaluation.segmentation import (
    AreaCase,
    SegmentationCase,
    summarise_area_errors,
    summarise_segmentation,
)

GRADES: tuple[str, ...] = ("A", "B", "C", "D")


@dataclass(frozen=True)
class GradedCase:
    """One graded level: truth and predicted Schizas grade, and the predicted probabilities (A..D)."""

    case_id: str
    cluster_id: str
    truth: str
    predicted: str
    probabilities: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class ModelResults:
    """What one model produced on the cases: masks scored, areas measured, levels graded, and
    levels it left without an answer (e.g. no finding for a level)."""

    name: str
    segmentation: tuple[SegmentationCase, ...] = ()
    areas: tuple[AreaCase, ...] = ()
    grading: tuple[GradedCase, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def classification(self) -> ClassificationMetrics | None:
        if not self.grading:
            return None
        return classification_metrics(
            [c.truth for c in self.grading],
            [c.predicted for c in self.grading],
            GRADES,
            np.array([c.probabilities for c in self.grading], dtype=np.float64),
        )


def summarise_results(results: Sequence[ModelResults], resamples: int = 2000) -> dict[str, Any]:
    """JSON summary: per model the classification metrics, Dice/IoU and area error with CIs; and
    McNemar's test of every other model against the first on the cases both graded."""
    out: dict[str, Any] = {"models": {}}
    for result in results:
        classification = result.classification()
        out["models"][result.name] = {
            "graded_levels": len(result.grading),
            "missing": list(result.missing),
            "notes": list(result.notes),
            "classification": None if classification is None else classification.as_dict(),
            "segmentation": summarise_segmentation(result.segmentation, resamples)
            if result.segmentation
            else None,
            "dural_sac_area_error": summarise_area_errors(result.areas, resamples),
        }
    if len(results) > 1 and results[0].grading:
        reference = {c.case_id: c for c in results[0].grading}
        out["mcnemar"] = {}
        for other in results[1:]:
            shared = [c for c in other.grading if c.case_id in reference]
            if not shared:
                continue
            test = mcnemar_test(
                [c.truth for c in shared],
                [reference[c.case_id].predicted for c in shared],
                [c.predicted for c in shared],
            )
            out["mcnemar"][f"{results[0].name} vs {other.name}"] = {**test.as_dict(), "cases": len(shared)}
    return out

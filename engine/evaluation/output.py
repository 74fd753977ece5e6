"""Write an evaluation to a folder: metrics.json and, per model, confusion matrix and ROC PNGs."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine import INTENDED_USE, __version__
from engine.atomic_file import write_text_atomically
from engine.evaluation.plots import plot_confusion_matrix, plot_roc_curves
from engine.evaluation.results import ModelResults, summarise_results


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def write_evaluation(
    out_dir: Path, results: Sequence[ModelResults], extra: dict[str, Any] | None = None, resamples: int = 2000
) -> dict[str, Any]:
    """Summarise the results, write OUT/metrics.json and the plots; returns the summary (with the
    plot file names under "plots")."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise_results(results, resamples)
    summary["engine_version"] = __version__
    summary["intended_use"] = INTENDED_USE
    summary.update(extra or {})
    plots: list[str] = []
    for result in results:
        metrics = result.classification()
        if metrics is None:
            continue
        slug = _slug(result.name)
        plots.append(
            plot_confusion_matrix(
                metrics.confusion,
                metrics.labels,
                out_dir / f"confusion_{slug}.png",
                f"Schizas grade: {result.name}",
            ).name
        )
        plots.append(
            plot_roc_curves(metrics.roc, out_dir / f"roc_{slug}.png", f"ROC one vs rest: {result.name}").name
        )
    summary["plots"] = plots
    write_text_atomically(out_dir / "metrics.json", json.dumps(summary, indent=2) + "\n")
    return summary

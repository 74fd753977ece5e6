"""matplotlib figures (Agg backend, PNG files) of evaluation results: confusion matrix, ROC curves,
training curves with the PID-Tversky controller's alpha/beta per class, and controller traces of
several runs. matplotlib is imported inside each function, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine import __version__
from engine.evaluation.history import EpochRecord, controlled_classes
from engine.evaluation.roc import RocCurve

_FOOTER = f"LSS Desktop {__version__}: evaluation plot, not for diagnosis"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> Path:
    figure.text(0.99, 0.005, _FOOTER, ha="right", va="bottom", fontsize=6, color="0.4")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    _pyplot().close(figure)
    return path


def plot_confusion_matrix(
    confusion: Sequence[Sequence[int]], labels: Sequence[str], path: Path, title: str = "Confusion matrix"
) -> Path:
    """Counts in each cell, colour = share of the true class (row-normalised); rows truth, columns prediction."""
    plt = _pyplot()
    counts = np.asarray(confusion, dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    figure, axes = plt.subplots(figsize=(4.6, 4.0))
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            axes.text(
                j,
                i,
                f"{int(counts[i, j])}\n{shares[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if shares[i, j] > 0.6 else "black",
            )
    axes.set_xticks(range(len(labels)), labels)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046, label="share of true class")
    figure.tight_layout()
    return _save(figure, path)


def plot_roc_curves(curves: Sequence[RocCurve], path: Path, title: str = "ROC, one vs rest") -> Path:
    """One curve per class with its AUC in the legend; classes without positives are listed as n/a."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(4.6, 4.2))
    for curve in curves:
        auc = "n/a" if curve.auc is None else f"{curve.auc:.3f}"
        axes.plot(
            curve.false_positive_rate,
            curve.true_positive_rate,
            drawstyle="steps-post",
            label=f"{curve.label} (AUC {auc}, n={curve.positives})",
        )
    axes.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=1)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return _save(figure, path)


def plot_training_curves(history: Sequence[EpochRecord], path: Path, title: str = "Training") -> Path:
    """Loss and validation Dice per epoch; with a PID-Tversky controller also alpha/beta and the
    error FNR - FDR per controlled class."""
    plt = _pyplot()
    records = list(history)
    if not records:
        raise ValueError("the training history has no epoch")
    classes = controlled_classes(tuple(records))
    panels = 3 if classes else 1
    figure, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.8), squeeze=False)
    epochs = [r.epoch for r in records]
    left = axes[0, 0]
    losses = [r.train_loss for r in records]
    if any(v is not None for v in losses):
        left.plot(epochs, [np.nan if v is None else v for v in losses], color="0.3", label="training loss")
    structures = sorted({s for r in records for s in r.validation.get("dice", {})})
    for structure in structures:
        left.plot(
            epochs,
            [r.validation.get("dice", {}).get(structure, np.nan) for r in records],
            label=f"val Dice {structure}",
        )
    if any("grade_accuracy" in r.validation for r in records):
        left.plot(
            epochs,
            [r.validation.get("grade_accuracy", np.nan) for r in records],
            linestyle="--",
            label="val grade accuracy",
        )
    left.set_xlabel("epoch")
    left.set_title("loss and validation", fontsize=10)
    left.legend(fontsize=7)
    if classes:
        middle, right = axes[0, 1], axes[0, 2]
        for index, name in enumerate(classes):
            colour = f"C{index}"
            beta = [r.controller["beta"][name] if r.controller else np.nan for r in records]
            alpha = [r.controller["alpha"][name] if r.controller else np.nan for r in records]
            error = [r.controller["error"][name] if r.controller else np.nan for r in records]
            middle.plot(epochs, beta, color=colour, label=f"beta {name}")
            middle.plot(epochs, alpha, color=colour, linestyle=":", label=f"alpha {name}")
            right.plot(epochs, error, color=colour, label=name)
        middle.set_ylim(0, 1)
        middle.set_xlabel("epoch")
        middle.set_title("PID-Tversky alpha (FP) / beta (FN) weights", fontsize=10)
        middle.legend(fontsize=7)
        right.axhline(0.0, color="0.7", linewidth=1)
        right.set_xlabel("epoch")
        right.set_title("controller error FNR - FDR", fontsize=10)
        right.legend(fontsize=7)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return _save(figure, path)


def plot_controller_traces(
    runs: Mapping[str, Sequence[EpochRecord]], path: Path, title: str = "PID-Tversky controller"
) -> Path:
    """beta (solid) per controlled class and epoch for several runs (e.g. seeds), with the error
    FNR - FDR below; one colour per class, one line style per run."""
    plt = _pyplot()
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7.0, 6.4), sharex=True)
    styles = ["-", "--", ":", "-."]
    classes: list[str] = []
    for history in runs.values():
        classes += [c for c in controlled_classes(tuple(history)) if c not in classes]
    for run_index, (run, history) in enumerate(runs.items()):
        steps = [(r.epoch, r.controller) for r in history if r.controller]
        epochs = [epoch for epoch, _ in steps]
        for class_index, name in enumerate(classes):
            style = dict(color=f"C{class_index}", linestyle=styles[run_index % len(styles)])
            top.plot(epochs, [c["beta"][name] for _, c in steps], label=f"{name}, {run}", **style)
            bottom.plot(epochs, [c["error"][name] for _, c in steps], **style)
    top.axhline(0.5, color="0.7", linewidth=1)
    top.set_ylabel("beta (FN weight); alpha = 1 - beta")
    top.set_ylim(0, 1)
    top.legend(fontsize=7, ncol=2)
    bottom.axhline(0.0, color="0.7", linewidth=1)
    bottom.set_ylabel("error FNR - FDR")
    bottom.set_xlabel("epoch")
    top.set_title(title, fontsize=11)
    figure.tight_layout()
    return _save(figure, path)

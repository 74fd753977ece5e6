"""Grade classification metrics: confusion matrix, accuracy, macro-F1, per-class precision/recall/F1,
and one-vs-rest ROC AUC when class probabilities are given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.evaluation.roc import RocCurve, one_vs_rest_roc


@dataclass(frozen=True)
class ClassMetrics:
    """One class. precision/recall/f1 are None when undefined (nothing predicted / no case of it)."""

    label: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int  # cases whose truth is this class
    predicted: int  # cases predicted as this class
    roc_auc: float | None = None


@dataclass(frozen=True, eq=False)
class ClassificationMetrics:
    """accuracy; macro_f1: mean F1 over the classes with support (an absent class is not averaged
    in); confusion[i][j]: cases of truth labels[i] predicted as labels[j]."""

    labels: tuple[str, ...]
    cases: int
    accuracy: float
    macro_f1: float | None
    per_class: tuple[ClassMetrics, ...]
    confusion: tuple[tuple[int, ...], ...]
    roc: tuple[RocCurve, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "labels": list(self.labels),
            "cases": self.cases,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": {
                c.label: {
                    "precision": c.precision,
                    "recall": c.recall,
                    "f1": c.f1,
                    "support": c.support,
                    "predicted": c.predicted,
                    "roc_auc": c.roc_auc,
                }
                for c in self.per_class
            },
            "confusion_matrix": [list(row) for row in self.confusion],
        }


def confusion_matrix(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> tuple[tuple[int, ...], ...]:
    """Counts (len(labels) x len(labels)), rows = truth, columns = prediction.

    Raises ValueError naming a value that is not one of `labels`.
    """
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        for value in (t, p):
            if value not in index:
                raise ValueError(f"label {value!r} is not one of {', '.join(map(str, labels))}")
        counts[index[t], index[p]] += 1
    return tuple(tuple(int(v) for v in row) for row in counts)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def classification_metrics(
    truth: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    probabilities: np.ndarray | None = None,
) -> ClassificationMetrics:
    """All classification metrics of `predicted` against `truth` (labels such as "A".."D").

    probabilities: optional (cases, len(labels)) class probabilities for the one-vs-rest ROC.
    """
    if not truth:
        raise ValueError("no case to evaluate")
    confusion = confusion_matrix(truth, predicted, labels)
    matrix = np.asarray(confusion)
    curves = one_vs_rest_roc(truth, probabilities, labels) if probabilities is not None else []
    auc = {c.label: c.auc for c in curves}
    per_class = []
    for i, label in enumerate(labels):
        tp = int(matrix[i, i])
        support, predicted_count = int(matrix[i].sum()), int(matrix[:, i].sum())
        precision, recall = _ratio(tp, predicted_count), _ratio(tp, support)
        if support == 0:
            f1 = None
        elif precision is None or recall is None or precision + recall == 0:
            f1 = 0.0
        else:
            f1 = 2 * precision * recall / (precision + recall)
        per_class.append(
            ClassMetrics(str(label), precision, recall, f1, support, predicted_count, auc.get(str(label)))
        )
    scored = [c.f1 for c in per_class if c.f1 is not None]
    return ClassificationMetrics(
        labels=tuple(str(x) for x in labels),
        cases=len(truth),
        accuracy=float(np.trace(matrix) / matrix.sum()),
        macro_f1=float(np.mean(scored)) if scored else None,
        per_class=tuple(per_class),
        confusion=confusion,
        roc=tuple(curves),
    )

"""ROC curves and their area (one class against the rest), from scores without thresholds chosen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class RocCurve:
    """One class's ROC: false and true positive rates (ascending, from (0, 0) to (1, 1)) and its AUC.

    auc is None when the cases hold no positive or no negative for the class (undefined).
    """

    label: str
    false_positive_rate: np.ndarray = field(repr=False)
    true_positive_rate: np.ndarray = field(repr=False)
    auc: float | None
    positives: int
    negatives: int


def roc_auc(scores: Sequence[float] | np.ndarray, positive: Sequence[bool] | np.ndarray) -> float | None:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counting 1/2
    (the Mann-Whitney U statistic over n_pos * n_neg). None without positives or negatives."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores for {y.size} labels")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_scores = s[order]
    # Average ranks over ties (1-based).
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [s.size]])
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _curve(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], positive[order]
    distinct = np.flatnonzero(np.diff(s)) if s.size > 1 else np.array([], dtype=int)
    cut = np.concatenate([distinct, [s.size - 1]])
    tp = np.cumsum(y)[cut]
    fp = np.cumsum(~y)[cut]
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    return (
        np.concatenate([[0.0], fp / n_neg]),
        np.concatenate([[0.0], tp / n_pos]),
    )


def one_vs_rest_roc(truth: Sequence[str], probabilities: np.ndarray, labels: Sequence[str]) -> list[RocCurve]:
    """One ROC per label: the label's probability column scores the cases whose truth is that label
    against all others. probabilities: (cases, len(labels)), columns in `labels` order."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape != (len(truth), len(labels)):
        raise ValueError(f"probabilities must have shape ({len(truth)}, {len(labels)}), got {p.shape}")
    t = np.asarray(list(truth))
    curves = []
    for column, label in enumerate(labels):
        positive = t == label
        fpr, tpr = _curve(p[:, column], positive)
        curves.append(
            RocCurve(
                label=str(label),
                false_positive_rate=fpr,
                true_positive_rate=tpr,
                auc=roc_auc(p[:, column], positive),
                positives=int(positive.sum()),
                negatives=int((~positive).sum()),
            )
        )
    return curves

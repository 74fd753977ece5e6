"""Percentile bootstrap confidence intervals of a mean, resampling cases (or clusters of cases,
e.g. all slices of one study, so correlated slices do not narrow the interval)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class ConfidenceInterval:
    """A mean and its percentile bootstrap interval.

    estimate: the mean over all cases; low/high: the interval bounds at `level` (e.g. 0.95);
    cases: number of values; clusters: number of resampled units (= cases without clusters).
    """

    estimate: float
    low: float
    high: float
    level: float
    cases: int
    clusters: int
    resamples: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def text(self, digits: int = 3) -> str:
        """'0.912 [0.884, 0.936]'."""
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Mean of `values` with a percentile bootstrap interval.

    clusters: one id per value; whole clusters are resampled with replacement and the statistic is
    the mean of all values in the drawn clusters. None resamples single values.
    Raises ValueError on no values, NaN values, or a level outside (0, 1).
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1 or data.size == 0:
        raise ValueError("bootstrap needs a non-empty 1-D sequence of values")
    if not np.isfinite(data).all():
        raise ValueError("bootstrap values must be finite numbers")
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError("resamples must be >= 1")
    ids = (
        np.arange(data.size) if clusters is None else np.unique(np.asarray(clusters), return_inverse=True)[1]
    )
    if ids.shape != data.shape:
        raise ValueError(f"{len(ids)} cluster ids for {data.size} values")
    count = int(ids.max()) + 1
    sums = np.bincount(ids, weights=data, minlength=count)
    sizes = np.bincount(ids, minlength=count).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, count, size=(resamples, count))
    # Each resample: total of the drawn clusters' sums over the total of their sizes.
    means = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return ConfidenceInterval(
        estimate=float(data.mean()),
        low=float(low),
        high=float(high),
        level=level,
        cases=int(data.size),
        clusters=count,
        resamples=resamples,
    )

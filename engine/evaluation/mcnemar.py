"""McNemar's test: do two models, graded on the same cases, differ in how often they are right?

Only the discordant cases count: b = cases model A gets right and B wrong, c = the reverse. With
few discordant cases (b + c < EXACT_BELOW) the exact two-sided binomial test (b ~ Bin(b + c, 1/2))
is used; otherwise the chi-square statistic with Edwards' continuity correction,
(|b - c| - 1)^2 / (b + c), against chi-square with one degree of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

EXACT_BELOW = 25


@dataclass(frozen=True)
class McNemarResult:
    """b: A right, B wrong; c: A wrong, B right; both_right / both_wrong: concordant counts.
    method: 'exact binomial' or 'chi-square (continuity corrected)'; statistic: the chi-square
    value (None for the exact test); p_value: two-sided."""

    b: int
    c: int
    both_right: int
    both_wrong: int
    method: str
    statistic: float | None
    p_value: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _exact_two_sided(b: int, c: int) -> float:
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def mcnemar_test(
    truth: Sequence[object], predicted_a: Sequence[object], predicted_b: Sequence[object]
) -> McNemarResult:
    """McNemar's test of two models' predictions against the same truth (equal-length sequences)."""
    if not len(truth) == len(predicted_a) == len(predicted_b):
        raise ValueError(
            f"truth and the two predictions must have the same length, got {len(truth)}, "
            f"{len(predicted_a)} and {len(predicted_b)}"
        )
    if not truth:
        raise ValueError("McNemar's test needs at least one case")
    right_a = [a == t for t, a in zip(truth, predicted_a, strict=True)]
    right_b = [b == t for t, b in zip(truth, predicted_b, strict=True)]
    b = sum(1 for x, y in zip(right_a, right_b, strict=True) if x and not y)
    c = sum(1 for x, y in zip(right_a, right_b, strict=True) if y and not x)
    both_right = sum(1 for x, y in zip(right_a, right_b, strict=True) if x and y)
    both_wrong = len(truth) - b - c - both_right
    if b + c < EXACT_BELOW:
        return McNemarResult(b, c, both_right, both_wrong, "exact binomial", None, _exact_two_sided(b, c))
    statistic = (abs(b - c) - 1.0) ** 2 / (b + c)
    # Survival function of chi-square with 1 degree of freedom.
    p_value = math.erfc(math.sqrt(statistic / 2.0))
    return McNemarResult(
        b, c, both_right, both_wrong, "chi-square (continuity corrected)", statistic, p_value
    )

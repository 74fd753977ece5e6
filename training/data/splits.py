"""Deterministic splits by group (patient or study), never by slice."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.data.samples import PromptSample


def split_by_group(
    samples: Sequence[PromptSample], held_out_fraction: float, seed: int
) -> tuple[list[PromptSample], list[PromptSample]]:
    """(train, held-out): whole groups go to one side; the same seed gives the same split.

    At least one group is held out when there are two or more groups and the fraction is > 0.
    """
    if not 0.0 <= held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}")
    groups = sorted({s.source.group for s in samples})
    order = np.random.default_rng(seed).permutation(len(groups))
    count = round(held_out_fraction * len(groups))
    if held_out_fraction > 0 and len(groups) >= 2:
        count = min(max(count, 1), len(groups) - 1)
    held_out = {groups[i] for i in order[:count]}
    train = [s for s in samples if s.source.group not in held_out]
    return train, [s for s in samples if s.source.group in held_out]

"""The ablation's data: synthetic studies with the practice-like grade imbalance for training, and a
test set with every grade equally represented (so minority-grade confidence intervals are narrow).

Layout: OUT/data/train/<seed>/ and OUT/data/test/<seed>/, each a synthetic study as
`engine.synthetic_study.write_study` writes it. A study already there (ground_truth.json present)
is kept, so an interrupted preparation resumes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.findings import DISC_LEVELS

logger = logging.getLogger(__name__)

TRAIN_SEED_BASE = 10_000
TEST_SEED_BASE = 20_000


@dataclass(frozen=True)
class StudySets:
    """Folders of the training studies (imbalanced grades) and the test studies (balanced grades)."""

    train_root: Path
    test_root: Path
    train_count: int
    test_count: int


def balanced_test_grades(count: int, seed: int) -> list[str]:
    """Five comma-separated grades per test study, A, B, C and D equally often overall (shuffled)."""
    total = count * len(DISC_LEVELS)
    pool = np.array(list("ABCD") * (total // 4 + 1))[:total]
    np.random.default_rng(seed).shuffle(pool)
    return [",".join(pool[i * len(DISC_LEVELS) : (i + 1) * len(DISC_LEVELS)]) for i in range(count)]


def prepare_study_sets(out_dir: Path, train_count: int, test_count: int, max_matrix: int = 256) -> StudySets:
    """Write the missing training and test studies under out_dir/data (seconds per study)."""
    from engine.synthetic_study import write_study

    train_root, test_root = out_dir / "data" / "train", out_dir / "data" / "test"
    for index in range(train_count):
        folder = train_root / f"{TRAIN_SEED_BASE + index}"
        if not (folder / "ground_truth" / "ground_truth.json").is_file():
            write_study(folder, TRAIN_SEED_BASE + index, max_matrix=max_matrix, overwrite=True)
            logger.info("training study %d/%d written", index + 1, train_count)
    for index, grades in enumerate(balanced_test_grades(test_count, seed=TEST_SEED_BASE)):
        folder = test_root / f"{TEST_SEED_BASE + index}"
        if not (folder / "ground_truth" / "ground_truth.json").is_file():
            write_study(folder, TEST_SEED_BASE + index, grades=grades, max_matrix=max_matrix, overwrite=True)
            logger.info("test study %d/%d written", index + 1, test_count)
    return StudySets(train_root, test_root, train_count, test_count)

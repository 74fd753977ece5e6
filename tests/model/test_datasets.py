"""Datasets: SPIDER and synthetic studies on disk -> prompt samples, splits by patient, tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import shared_data_dir

from engine.findings import Structure
from engine.prompt_tokens import PromptTokenizer
from training.data import AugmentationConfig, spider_samples, split_by_group, synthetic_samples
from training.data.dataset import (
    BalancedEpochSampler,
    PromptCollator,
    PromptSegmentationDataset,
    grade_balancing_weights,
)
from training.models import load_model_config


def _preprocessing():
    return load_model_config("lss-vit-tiny").preprocessing


def test_synthetic_study_gives_prompts_masks_and_grades(fake_synthetic_root):
    samples = synthetic_samples(fake_synthetic_root / "study-a")
    sagittal = [s for s in samples if s.source.plane == "sagittal"]
    axial = [s for s in samples if s.source.plane == "axial"]
    # Slice 0 of the sagittal series has no canal: 2 slices x 3 structures remain.
    assert len(sagittal) == 6
    assert {s.prompt.text for s in axial} == {
        "dural sac at L3-L4",
        "dural sac at L4-L5",
        "posterior epidural fat",
    }
    sac = [s for s in axial if s.prompt.structure is Structure.DURAL_SAC]
    # Grades only near the disc (distance 1 mm; the 6 mm slices carry none); A = 0, C = 2.
    assert sorted(s.grade for s in sac) == [-1, -1, 0, 2]
    image = sac[0].source.reader.pixels()
    labels = sac[0].source.reader.labels()
    assert image.shape == labels.shape == (64, 64)
    # The mask is aligned with the pixels: the dural sac is the brightest structure.
    assert image[labels == 3].mean() > image[labels == 2].mean() + 500
    assert sac[0].source.spacing_mm == (0.8, 0.8)
    assert len(synthetic_samples(fake_synthetic_root)) == 3 * len(samples)


def test_synthetic_errors_name_the_file(tmp_path, fake_synthetic_root):
    with pytest.raises(FileNotFoundError, match="ground_truth"):
        synthetic_samples(tmp_path)
    bad = tmp_path / "bad"
    import shutil

    shutil.copytree(fake_synthetic_root / "study-a", bad)
    truth = bad / "ground_truth" / "ground_truth.json"
    truth.write_text(truth.read_text().replace('"1.0"', '"2.0"', 1))
    with pytest.raises(ValueError, match=r"ground_truth.json: schema_version 2.0"):
        synthetic_samples(bad)


def test_split_is_by_patient_and_deterministic(fake_spider_root):
    samples = spider_samples(fake_spider_root)
    assert len(samples) == 4 * 2 * 3
    train, held = split_by_group(samples, 0.25, seed=7)
    assert {s.source.group for s in train}.isdisjoint({s.source.group for s in held})
    assert len({s.source.group for s in held}) == 1
    again = split_by_group(samples, 0.25, seed=7)[1]
    assert [s.source.key for s in held] == [s.source.key for s in again]


def test_real_spider_split_never_shares_a_patient():
    data = shared_data_dir()
    if data is None or not (data / "spider-sagittal").is_dir():
        pytest.skip("the shared SPIDER data is not beside this checkout")
    samples = spider_samples(data / "spider-sagittal")
    assert len(samples) == 84 * 3
    train, held = split_by_group(samples, 0.2, seed=0)
    assert {s.source.group for s in train}.isdisjoint({s.source.group for s in held})
    assert len({s.source.group for s in held}) == round(0.2 * 28)


def test_dataset_items_and_collation(fake_synthetic_root, prompt_tokenizer_file):
    samples = synthetic_samples(fake_synthetic_root / "study-b")
    tokenizer = PromptTokenizer(prompt_tokenizer_file, 16, "[PAD]")
    plain = PromptSegmentationDataset(samples, _preprocessing())
    item = plain[0]
    assert item["image"].shape == (1, 64, 64) and item["mask"].shape == (1, 64, 64)
    assert float(item["image"].min()) >= 0.0 and float(item["image"].max()) <= 1.0
    assert set(torch.unique(item["mask"]).tolist()) <= {0.0, 1.0} and item["mask"].sum() > 0
    batch = PromptCollator(tokenizer)([plain[i] for i in range(4)])
    assert batch["input_ids"].shape == batch["attention_mask"].shape == batch["content_mask"].shape
    assert batch["image"].shape == (4, 1, 64, 64) and batch["class_index"].shape == (4,)
    augmented = PromptSegmentationDataset(samples, _preprocessing(), AugmentationConfig(), seed=3)
    first, second = augmented[0]["image"], augmented[0]["image"]
    assert torch.equal(first, second)  # same (seed, epoch, index): same draw
    augmented.set_epoch(1)
    assert not torch.equal(first, augmented[0]["image"])
    assert not torch.equal(plain[0]["image"], first)


def test_grade_rebalancing_draws_minority_grades_as_often():
    grades = np.array([0] * 70 + [1] * 20 + [2] * 10 + [-1] * 20)

    class _Sample:
        def __init__(self, grade):
            self.grade = grade

    weights = grade_balancing_weights([_Sample(int(g)) for g in grades])  # type: ignore[list-item]
    per_grade = {g: weights[grades == g].sum() for g in (0, 1, 2)}
    assert per_grade[0] == pytest.approx(per_grade[1]) == pytest.approx(per_grade[2])
    sampler = BalancedEpochSampler(weights, num_samples=12000, seed=1)
    drawn = grades[list(iter(sampler))]
    shares = [np.mean(drawn == g) for g in (0, 1, 2)]
    assert max(shares) - min(shares) < 0.03
    ranks = [list(iter(BalancedEpochSampler(weights, 101, seed=1, rank=r, world_size=2))) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 51


def test_graded_share_sets_how_often_graded_samples_are_drawn():
    class _Sample:
        def __init__(self, grade):
            self.grade = grade

    # 90 ungraded prompts, 10 graded (8 A, 2 D): naturally 10 % of draws carry a grade.
    grades = np.array([-1] * 90 + [0] * 8 + [3] * 2)
    samples = [_Sample(int(g)) for g in grades]
    weights = grade_balancing_weights(samples, graded_share=0.4)  # type: ignore[arg-type]
    assert weights[grades >= 0].sum() / weights.sum() == pytest.approx(0.4)
    assert weights[grades == 0].sum() == pytest.approx(weights[grades == 3].sum())
    natural = grade_balancing_weights(samples)  # type: ignore[arg-type]
    assert natural[grades >= 0].sum() / natural.sum() == pytest.approx(0.1)
    with pytest.raises(ValueError, match="graded_share"):
        grade_balancing_weights(samples, graded_share=1.5)  # type: ignore[arg-type]

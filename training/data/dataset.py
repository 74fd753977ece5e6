"""torch Dataset of prompt samples: shared preprocessing, optional augmentation, prompt tokens,
and a grade-balanced sampler that also shards for DDP."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from engine.preprocessing import GridMapping, PlanePreprocessing, prepare_intensities
from engine.prompt_tokens import PromptTokenizer
from training.data.augmentation import (
    AugmentationConfig,
    elastic_deformation,
    random_intensity,
    random_mapping,
)
from training.data.samples import UNKNOWN_GRADE, PromptSample


class PromptSegmentationDataset(Dataset):
    """Item i -> dict: image (1, H, W) float32 in [0, 1], mask (1, H, W) float32 {0, 1},
    class_index () int64 (structure), grade () int64 (-1 unknown), prompt str.

    The normalised, denoised slice (uint8, original grid) is cached per slice key (LRU, per worker).
    augmentation None: deterministic preprocessing exactly as at inference.
    """

    def __init__(
        self,
        samples: Sequence[PromptSample],
        preprocessing: PlanePreprocessing,
        augmentation: AugmentationConfig | None = None,
        seed: int = 0,
        cache_slices: int = 512,
    ) -> None:
        if not samples:
            raise ValueError("the dataset has no sample")
        self.samples = list(samples)
        self.preprocessing = preprocessing
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0
        self.cache_slices = cache_slices
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        """Augmentation draws depend on (seed, epoch, index), so runs and resumes are reproducible."""
        self.epoch = epoch

    def _slice(self, sample: PromptSample) -> tuple[np.ndarray, np.ndarray]:
        key = sample.source.key
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        config = self.preprocessing.for_plane(sample.source.plane)
        reader = sample.source.reader
        intensities = np.rint(prepare_intensities(reader.pixels(), config) * 255.0).astype(np.uint8)
        entry = (intensities, np.asarray(reader.labels()))
        self._cache[key] = entry
        if len(self._cache) > self.cache_slices:
            self._cache.popitem(last=False)
        return entry

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.samples[index]
        intensities, labels = self._slice(sample)
        config = self.preprocessing.for_plane(sample.source.plane)
        image01 = intensities.astype(np.float32) / 255.0
        mask = np.isin(labels, sample.label_ids).astype(np.float32)
        if self.augmentation is None:
            mapping = GridMapping.centred(image01.shape, sample.source.spacing_mm, sample.centre_rc, config)
            image = mapping.to_model(image01, antialias=config.antialias)
            target = mapping.to_model(mask) > 0.5
        else:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            mapping = random_mapping(
                rng,
                self.augmentation,
                config,
                sample.source.plane,
                image01.shape,
                sample.source.spacing_mm,
                sample.centre_rc,
            )
            image = mapping.to_model(image01, antialias=config.antialias)
            target = mapping.to_model(mask) > 0.5
            if rng.random() < self.augmentation.elastic_probability:
                image, target_u8 = elastic_deformation(rng, self.augmentation, image, target.astype(np.uint8))
                target = target_u8 > 0
            image = random_intensity(rng, self.augmentation, image)
        return {
            "image": torch.from_numpy(np.clip(image, 0.0, 1.0).astype(np.float32))[None],
            "mask": torch.from_numpy(target.astype(np.float32))[None],
            "class_index": torch.tensor(sample.structure_class, dtype=torch.long),
            "grade": torch.tensor(sample.grade, dtype=torch.long),
            "prompt": sample.prompt.text,
        }


class PromptCollator:
    """Stacks items and tokenises their prompts: adds input_ids, attention_mask (B, L) int64 and
    content_mask (B, L) float32, padded to the longest prompt of the batch."""

    def __init__(self, tokenizer: PromptTokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        tokens = self.tokenizer.encode([item["prompt"] for item in items])
        return {
            "image": torch.stack([item["image"] for item in items]),
            "mask": torch.stack([item["mask"] for item in items]),
            "class_index": torch.stack([item["class_index"] for item in items]),
            "grade": torch.stack([item["grade"] for item in items]),
            "input_ids": torch.from_numpy(tokens.input_ids),
            "attention_mask": torch.from_numpy(tokens.attention_mask),
            "content_mask": torch.from_numpy(tokens.content_mask),
            "prompts": [item["prompt"] for item in items],
        }


def grade_balancing_weights(samples: Sequence[PromptSample], graded_share: float | None = None) -> np.ndarray:
    """Sampling weight per sample: graded samples get 1 / (share of their grade among graded samples)
    / number of grades, so every grade is drawn equally often; ungraded samples keep weight 1.

    graded_share: the share of all draws that go to graded samples (their natural share if None);
    a grade head sees few graded samples when most prompts carry no grade.
    """
    grades = np.array([s.grade for s in samples])
    weights = np.ones(len(samples), dtype=np.float64)
    graded = grades != UNKNOWN_GRADE
    if graded.any():
        values, counts = np.unique(grades[graded], return_counts=True)
        share = dict(zip(values.tolist(), (counts / graded.sum()).tolist(), strict=True))
        for i in np.flatnonzero(graded):
            weights[i] = 1.0 / (share[int(grades[i])] * len(values))
        ungraded = ~graded
        if graded_share is not None and ungraded.any():
            if not 0.0 < graded_share < 1.0:
                raise ValueError(f"graded_share must lie in (0, 1), got {graded_share}")
            graded_total, ungraded_total = weights[graded].sum(), weights[ungraded].sum()
            weights[graded] *= graded_share / graded_total
            weights[ungraded] *= (1.0 - graded_share) / ungraded_total
    return weights


class BalancedEpochSampler(Sampler[int]):
    """Draws `num_samples` indices per epoch with replacement in proportion to `weights` (minority
    grades are drawn more often and, augmented, seen in new variants), then keeps this rank's share.
    Deterministic in (seed, epoch); call set_epoch before each epoch."""

    def __init__(
        self, weights: np.ndarray, num_samples: int, seed: int, rank: int = 0, world_size: int = 1
    ) -> None:
        if num_samples < 1:
            raise ValueError("num_samples must be >= 1")
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.num_samples = num_samples
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (self.num_samples + self.world_size - 1) // self.world_size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        total = len(self) * self.world_size
        drawn = torch.multinomial(self.weights, total, replacement=True, generator=generator)
        return iter(drawn[self.rank :: self.world_size].tolist())

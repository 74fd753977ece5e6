"""Shared preprocessing: normalisation, noise-scaled denoising, resampling and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from engine.preprocessing import (
    GridMapping,
    PreprocessingConfig,
    estimate_noise_sigma,
    normalise_intensity,
    prepare_intensities,
    prepare_slice,
)


def _phantom(rows: int = 120, cols: int = 100, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A 12-bit-like slice: bright disc on grey background, optional Gaussian noise."""
    rr, cc = np.mgrid[:rows, :cols]
    image = 800.0 + 2400.0 * (((rr - 60) ** 2 + (cc - 40) ** 2) < 15**2)
    rng = np.random.default_rng(seed)
    return (image + rng.normal(0.0, noise, image.shape)).clip(0, 4095).astype(np.uint16)


def test_noise_estimate_matches_the_added_noise():
    rng = np.random.default_rng(1)
    ramp = np.add.outer(np.linspace(0, 100, 200), np.linspace(0, 50, 180))
    for sigma in (2.0, 8.0):
        assert estimate_noise_sigma(ramp + rng.normal(0, sigma, ramp.shape)) == pytest.approx(sigma, rel=0.1)
    assert estimate_noise_sigma(ramp) < 0.05


def test_percentile_normalisation_is_robust_to_a_hot_pixel_and_16_bit_range():
    image = _phantom().astype(np.float32)
    image[0, 0] = 65535.0
    out = normalise_intensity(image, (1.0, 99.0))
    assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
    assert out[60, 40] == 1.0 and out[5, 90] == 0.0
    assert normalise_intensity(np.full((8, 8), 7), (1, 99)).max() == 0.0


def test_denoising_strength_follows_the_noise_and_lowers_it():
    config = PreprocessingConfig(
        input_size=(64, 64), clip_percentiles=(0.0, 100.0), denoise_h_range=(0.0, 40.0)
    )
    noisy = _phantom(noise=120.0)
    plain = PreprocessingConfig(input_size=(64, 64), clip_percentiles=(0.0, 100.0), denoise=False)
    before = prepare_intensities(noisy, plain)
    after = prepare_intensities(noisy, config)
    assert estimate_noise_sigma(after) < 0.5 * estimate_noise_sigma(before)
    clean = _phantom(noise=0.0)
    # A clean slice gets h close to 0, so it is left (almost) as it is.
    assert (
        np.abs(prepare_intensities(clean, config) - prepare_intensities(clean, plain)).max() <= 1 / 255 + 1e-6
    )


def test_resampling_puts_the_centre_in_the_middle_at_the_target_spacing():
    config = PreprocessingConfig(
        input_size=(32, 48), target_spacing_mm=2.0, denoise=False, clip_percentiles=(0.0, 100.0)
    )
    image = np.zeros((100, 100), np.float32)
    image[69:72, 19:22] = 1.0
    prepared = prepare_slice(image, (0.5, 1.0), config, centre_rc=(70.0, 20.0))
    assert prepared.pixels.shape == (32, 48)
    peak = np.unravel_index(np.argmax(prepared.pixels), prepared.pixels.shape)
    assert abs(peak[0] - 15.5) <= 1 and abs(peak[1] - 23.5) <= 1
    # 0.5 mm rows -> 2 mm: 4 original rows per model row; 1 mm columns -> 2 per model column.
    assert prepared.mapping.downsampling_factors == pytest.approx((4.0, 2.0))


def test_inverse_mapping_returns_a_mask_to_the_original_grid():
    config = PreprocessingConfig(input_size=(64, 64), target_spacing_mm=1.0, denoise=False)
    mask = np.zeros((90, 110), np.uint8)
    mask[30:60, 40:70] = 1
    mapping = GridMapping.centred(mask.shape, (0.8, 0.8), (45.0, 55.0), config)
    back = mapping.to_original(mapping.to_model(mask, nearest=True).astype(np.float32)) > 0.5
    overlap = np.logical_and(back, mask).sum() / np.logical_or(back, mask).sum()
    assert overlap > 0.9
    # Parts outside the model field of view come back as 0.
    far = GridMapping.centred(mask.shape, (0.8, 0.8), (0.0, 0.0), config)
    assert far.to_original(np.ones((64, 64), np.float32))[89, 109] == 0.0


def test_rotation_and_flip_are_applied_about_the_centre():
    config = PreprocessingConfig(input_size=(41, 41), target_spacing_mm=1.0, denoise=False)
    image = np.zeros((41, 41), np.float32)
    image[20, 30] = 1.0  # right of centre
    turned = GridMapping.centred(image.shape, (1, 1), None, config, rotation_deg=90).to_model(
        image, antialias=False
    )
    assert np.unravel_index(np.argmax(turned), turned.shape) == (10, 20)  # now above centre
    flipped = GridMapping.centred(image.shape, (1, 1), None, config, flip_columns=True).to_model(image)
    assert np.unravel_index(np.argmax(flipped), flipped.shape) == (20, 10)


def test_config_round_trips_and_rejects_bad_values():
    config = PreprocessingConfig(input_size=(96, 128), target_spacing_mm=0.8)
    assert PreprocessingConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="clip_percentiles"):
        PreprocessingConfig(clip_percentiles=(99.0, 1.0))
    with pytest.raises(ValueError, match="denoise_search_window"):
        PreprocessingConfig(denoise_search_window=20)
    with pytest.raises(ValueError, match="unknown preprocessing field"):
        PreprocessingConfig.from_dict({"spacing": 1.0})

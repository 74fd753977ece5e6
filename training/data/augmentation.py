"""Training-only augmentation (method.md step 1): flips, small rotations, zoom and centre jitter,
intensity/gamma, elastic deformation. Geometric parts go through the shared GridMapping, so image and
mask move together; nothing here runs at inference."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from engine.preprocessing import GridMapping, PreprocessingConfig


@dataclass(frozen=True)
class AugmentationConfig:
    """Ranges of the random transforms (each drawn uniformly).

    rotation_deg: max |rotation|, degrees. zoom_range: (min, max) scale. centre_jitter_mm: max shift
    of the crop centre per axis, mm. flip_probability: left-right flip, applied on the planes listed
    in flip_planes (axial anatomy is left-right symmetric; sagittal anterior-posterior is not).
    gamma_range: exponent on [0, 1] intensities. contrast_range / brightness_range: a*x + b.
    noise_std: additive Gaussian noise, [0, 1] units. elastic_probability, elastic_alpha_px (max
    displacement, model pixels) and elastic_sigma_px (smoothness): elastic deformation.
    """

    rotation_deg: float = 10.0
    zoom_range: tuple[float, float] = (0.9, 1.1)
    centre_jitter_mm: float = 10.0
    flip_probability: float = 0.5
    flip_planes: tuple[str, ...] = ("axial",)
    gamma_range: tuple[float, float] = (0.7, 1.5)
    contrast_range: tuple[float, float] = (0.9, 1.1)
    brightness_range: tuple[float, float] = (-0.05, 0.05)
    noise_std: float = 0.02
    elastic_probability: float = 0.3
    elastic_alpha_px: float = 4.0
    elastic_sigma_px: float = 6.0

    def __post_init__(self) -> None:
        for name in ("zoom_range", "gamma_range", "contrast_range", "brightness_range"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"augmentation {name} must be (min, max), got {(low, high)}")
        if self.zoom_range[0] <= 0 or self.gamma_range[0] <= 0:
            raise ValueError("augmentation zoom_range and gamma_range must be positive")
        for name in ("flip_probability", "elastic_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"augmentation {name} must be in [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentationConfig:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown augmentation field(s): {', '.join(unknown)}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def random_mapping(
    rng: np.random.Generator,
    config: AugmentationConfig,
    preprocessing: PreprocessingConfig,
    plane: str,
    original_shape: tuple[int, int],
    spacing_mm: tuple[float, float],
    centre_rc: tuple[float, float] | None,
) -> GridMapping:
    """The shared resampling with a random rotation, zoom, flip and crop-centre jitter."""
    rows, cols = original_shape
    centre_row, centre_col = ((rows - 1) / 2.0, (cols - 1) / 2.0) if centre_rc is None else centre_rc
    jitter = rng.uniform(-config.centre_jitter_mm, config.centre_jitter_mm, size=2)
    centre = (centre_row + jitter[0] / spacing_mm[0], centre_col + jitter[1] / spacing_mm[1])
    return GridMapping.centred(
        original_shape,
        spacing_mm,
        centre,
        preprocessing,
        rotation_deg=float(rng.uniform(-config.rotation_deg, config.rotation_deg)),
        zoom=float(rng.uniform(*config.zoom_range)),
        flip_columns=plane in config.flip_planes and bool(rng.random() < config.flip_probability),
    )


def elastic_deformation(
    rng: np.random.Generator, config: AugmentationConfig, image: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random displacement (max about alpha px) applied to image (linear) and mask (nearest)."""
    rows, cols = image.shape
    fields = []
    for _ in range(2):
        noise = rng.uniform(-1.0, 1.0, size=(rows, cols)).astype(np.float32)
        smooth = cv2.GaussianBlur(noise, (0, 0), config.elastic_sigma_px)
        fields.append(smooth / max(float(np.abs(smooth).max()), 1e-6) * config.elastic_alpha_px)
    grid_x, grid_y = np.meshgrid(np.arange(cols, dtype=np.float32), np.arange(rows, dtype=np.float32))
    map_x = (grid_x + fields[0]).astype(np.float32)
    map_y = (grid_y + fields[1]).astype(np.float32)
    warped_image = cv2.remap(
        image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    warped_mask = cv2.remap(
        mask, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return warped_image, warped_mask


def random_intensity(rng: np.random.Generator, config: AugmentationConfig, image: np.ndarray) -> np.ndarray:
    """Gamma, contrast/brightness and noise on a [0, 1] image; result clipped to [0, 1]."""
    out = np.clip(image, 0.0, 1.0) ** rng.uniform(*config.gamma_range)
    out = out * rng.uniform(*config.contrast_range) + rng.uniform(*config.brightness_range)
    if config.noise_std > 0:
        out = out + rng.normal(0.0, config.noise_std, size=out.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32)

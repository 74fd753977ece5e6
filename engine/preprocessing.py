"""Pixel preprocessing shared by training and inference, so both see the same model input.

Pipeline for one 2D slice (method.md, step 1):
1. robust intensity normalisation: clip to two percentiles, rescale to [0, 1] (12/16-bit MR safe);
2. non-local-means denoising (OpenCV) with a strength scaled to the slice's noise estimate;
3. resampling to a fixed in-plane spacing and crop/pad to the model input size around a centre
   (one affine warp), with the inverse warp taking model outputs back to the original pixel grid.

Every constant is a field of `PreprocessingConfig`, which model packs carry in their config.json.
numpy + OpenCV only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

# Immerkaer's Laplacian-difference kernel: zero response to planes and ramps, so it sees noise only.
_NOISE_KERNEL = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]], dtype=np.float32)


@dataclass(frozen=True)
class PreprocessingConfig:
    """Constants of the shared preprocessing.

    input_size: (rows, columns) of the model input, pixels.
    target_spacing_mm: in-plane spacing of the model input, mm per pixel (isotropic).
    clip_percentiles: (low, high) intensity percentiles mapped to 0 and 1.
    denoise: run non-local-means denoising.
    denoise_strength: NLM filter strength h = denoise_strength * estimated noise sigma, where sigma
        is measured on the 8-bit rendering of the normalised slice (grey levels 0..255).
    denoise_h_range: (min, max) clamp of h, grey levels.
    denoise_template_window / denoise_search_window: NLM patch and search window sizes, pixels (odd).
    antialias: Gaussian pre-filter before downsampling (sigma = (factor - 1) / 2 per axis).
    """

    input_size: tuple[int, int] = (224, 224)
    target_spacing_mm: float = 1.0
    clip_percentiles: tuple[float, float] = (0.5, 99.5)
    denoise: bool = True
    denoise_strength: float = 1.0
    denoise_h_range: tuple[float, float] = (1.0, 20.0)
    denoise_template_window: int = 7
    denoise_search_window: int = 21
    antialias: bool = True

    def __post_init__(self) -> None:
        rows, cols = self.input_size
        if rows < 8 or cols < 8:
            raise ValueError(f"input_size must be at least 8x8 pixels, got {self.input_size}")
        if not self.target_spacing_mm > 0:
            raise ValueError(f"target_spacing_mm must be > 0, got {self.target_spacing_mm}")
        low, high = self.clip_percentiles
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(
                f"clip_percentiles must satisfy 0 <= low < high <= 100, got {self.clip_percentiles}"
            )
        if self.denoise_strength < 0:
            raise ValueError(f"denoise_strength must be >= 0, got {self.denoise_strength}")
        h_min, h_max = self.denoise_h_range
        if not 0 <= h_min <= h_max:
            raise ValueError(f"denoise_h_range must satisfy 0 <= min <= max, got {self.denoise_h_range}")
        for name in ("denoise_template_window", "denoise_search_window"):
            size = getattr(self, name)
            if size < 1 or size % 2 == 0:
                raise ValueError(f"{name} must be a positive odd number, got {size}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("input_size", "clip_percentiles", "denoise_h_range"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessingConfig:
        """Build from a JSON mapping; unknown keys are an error naming the key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown preprocessing field(s): {', '.join(unknown)}")
        values = dict(data)
        for key in ("input_size", "clip_percentiles", "denoise_h_range"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Standard deviation of additive Gaussian noise in a 2D image (Immerkaer 1996), image units."""
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim != 2 or min(pixels.shape) < 3:
        raise ValueError(f"noise estimation needs a 2D image of at least 3x3, got shape {pixels.shape}")
    response = cv2.filter2D(pixels, cv2.CV_32F, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    rows, cols = pixels.shape
    return float(
        math.sqrt(math.pi / 2.0) * np.abs(response, dtype=np.float64).sum() / (6.0 * (rows - 2) * (cols - 2))
    )


def normalise_intensity(image: np.ndarray, clip_percentiles: tuple[float, float]) -> np.ndarray:
    """Clip to the given percentiles and rescale to [0, 1]; (rows, cols) any dtype -> float32."""
    pixels = np.asarray(image, dtype=np.float32)
    finite = pixels[np.isfinite(pixels)]
    if finite.size == 0:
        return np.zeros(pixels.shape, dtype=np.float32)
    low, high = np.percentile(finite, clip_percentiles)
    if high <= low:
        return np.zeros(pixels.shape, dtype=np.float32)
    scaled = (np.nan_to_num(pixels, nan=float(low)) - low) / (high - low)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def denoise_non_local_means(image01: np.ndarray, config: PreprocessingConfig) -> np.ndarray:
    """Non-local-means denoising of a [0, 1] slice, strength from its noise estimate; float32 out.

    OpenCV's fastNlMeansDenoising works on 8-bit grey levels, so the result is quantised to 1/255.
    """
    grey = np.rint(np.clip(image01, 0.0, 1.0) * 255.0).astype(np.uint8)
    h_min, h_max = config.denoise_h_range
    h = float(np.clip(config.denoise_strength * estimate_noise_sigma(grey), h_min, h_max))
    denoised = cv2.fastNlMeansDenoising(
        grey,
        None,
        h=h,
        templateWindowSize=config.denoise_template_window,
        searchWindowSize=config.denoise_search_window,
    )
    return denoised.astype(np.float32) / 255.0


def prepare_intensities(image: np.ndarray, config: PreprocessingConfig) -> np.ndarray:
    """Steps 1-2 on the original pixel grid: normalised (and denoised) float32 (rows, cols) in [0, 1]."""
    pixels = np.asarray(image)
    if pixels.ndim != 2:
        raise ValueError(f"expected a 2D slice (rows, columns), got shape {pixels.shape}")
    normalised = normalise_intensity(pixels, config.clip_percentiles)
    if config.denoise and config.denoise_strength > 0:
        return denoise_non_local_means(normalised, config)
    return normalised


@dataclass(frozen=True, eq=False)
class GridMapping:
    """Affine map between an original slice's pixel grid and the model input grid.

    matrix: 2x3 float64 taking original (column, row) pixel centres to model (column, row).
    original_shape / model_shape: (rows, columns).
    """

    matrix: np.ndarray = field(repr=False)
    original_shape: tuple[int, int]
    model_shape: tuple[int, int]

    @classmethod
    def centred(
        cls,
        original_shape: tuple[int, int],
        spacing_mm: tuple[float, float],
        centre_rc: tuple[float, float] | None,
        config: PreprocessingConfig,
        rotation_deg: float = 0.0,
        zoom: float = 1.0,
        flip_columns: bool = False,
    ) -> GridMapping:
        """Resample to `config.target_spacing_mm` with `centre_rc` (original row, column) at the centre
        of the model grid; rotation (degrees, counter-clockwise), zoom and a left-right flip are
        for training augmentation (identity by default).

        spacing_mm: (row spacing, column spacing) of the original slice, as DICOM PixelSpacing.
        centre_rc: None centres the original slice.
        """
        row_spacing, col_spacing = (float(s) for s in spacing_mm)
        if row_spacing <= 0 or col_spacing <= 0:
            raise ValueError(f"pixel spacing must be positive, got {spacing_mm}")
        rows, cols = original_shape
        centre_row, centre_col = ((rows - 1) / 2.0, (cols - 1) / 2.0) if centre_rc is None else centre_rc
        scale = np.diag(
            [col_spacing / config.target_spacing_mm * zoom, row_spacing / config.target_spacing_mm * zoom]
        )
        angle = math.radians(rotation_deg)
        # Image rows point down, so a counter-clockwise turn on screen is a negative angle in (x, y).
        rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
        flip = np.diag([-1.0 if flip_columns else 1.0, 1.0])
        linear = flip @ rotation @ scale
        model_rows, model_cols = config.input_size
        model_centre = np.array([(model_cols - 1) / 2.0, (model_rows - 1) / 2.0])
        offset = model_centre - linear @ np.array([centre_col, centre_row])
        matrix = np.hstack([linear, offset[:, None]])
        return cls(matrix=matrix, original_shape=(int(rows), int(cols)), model_shape=(model_rows, model_cols))

    @property
    def downsampling_factors(self) -> tuple[float, float]:
        """Original pixels per model pixel along rows and columns (> 1 means downsampling)."""
        linear = self.matrix[:, :2]
        col_scale = float(np.hypot(linear[0, 0], linear[1, 0]))
        row_scale = float(np.hypot(linear[0, 1], linear[1, 1]))
        return 1.0 / row_scale, 1.0 / col_scale

    def to_model(self, image: np.ndarray, nearest: bool = False, antialias: bool = True) -> np.ndarray:
        """Warp an original-grid array (rows, cols) to the model grid (model rows, model cols).

        nearest: nearest-neighbour for label maps; linear otherwise. Outside the slice is 0.
        """
        source = np.asarray(image)
        if source.shape[:2] != self.original_shape:
            raise ValueError(
                f"array shape {source.shape[:2]} differs from the mapping's {self.original_shape}"
            )
        if not nearest and antialias:
            row_factor, col_factor = self.downsampling_factors
            if row_factor > 1.0 or col_factor > 1.0:
                sigma_row = max(row_factor - 1.0, 0.0) / 2.0
                sigma_col = max(col_factor - 1.0, 0.0) / 2.0
                source = cv2.GaussianBlur(
                    source.astype(np.float32),
                    (0, 0),
                    sigmaX=max(sigma_col, 1e-3),
                    sigmaY=max(sigma_row, 1e-3),
                )
        rows, cols = self.model_shape
        return cv2.warpAffine(
            source,
            self.matrix,
            (cols, rows),
            flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )

    def to_original(self, model_array: np.ndarray, nearest: bool = False) -> np.ndarray:
        """Warp a model-grid array (model rows, model cols) back to the original grid; 0 outside."""
        source = np.asarray(model_array)
        if source.shape[:2] != self.model_shape:
            raise ValueError(f"array shape {source.shape[:2]} differs from the model grid {self.model_shape}")
        rows, cols = self.original_shape
        return cv2.warpAffine(
            source,
            self.matrix,
            (cols, rows),
            flags=(cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )


@dataclass(frozen=True, eq=False)
class PreparedSlice:
    """A slice ready for the model: pixels float32 (model rows, model cols) in [0, 1], and its mapping."""

    pixels: np.ndarray = field(repr=False)
    mapping: GridMapping


def prepare_slice(
    image: np.ndarray,
    spacing_mm: tuple[float, float],
    config: PreprocessingConfig,
    centre_rc: tuple[float, float] | None = None,
) -> PreparedSlice:
    """Full preprocessing of one slice (rows, cols) with pixel spacing (row, col) mm around `centre_rc`."""
    intensities = prepare_intensities(image, config)
    mapping = GridMapping.centred(intensities.shape, spacing_mm, centre_rc, config)
    pixels = mapping.to_model(intensities, antialias=config.antialias)
    return PreparedSlice(pixels=np.clip(pixels, 0.0, 1.0).astype(np.float32), mapping=mapping)


@dataclass(frozen=True)
class PlanePreprocessing:
    """Preprocessing per imaging plane: one model input size, a spacing suited to each plane
    (a sagittal slice needs the whole lumbar spine in view, an axial one fine detail of the canal)."""

    sagittal: PreprocessingConfig
    axial: PreprocessingConfig

    def __post_init__(self) -> None:
        if self.sagittal.input_size != self.axial.input_size:
            raise ValueError(
                f"sagittal and axial input sizes differ ({self.sagittal.input_size} vs {self.axial.input_size}): "
                "the model graph has one input size"
            )

    @property
    def input_size(self) -> tuple[int, int]:
        return self.sagittal.input_size

    def for_plane(self, plane: str) -> PreprocessingConfig:
        """The config for 'sagittal' or 'axial' (other planes use the axial one)."""
        return self.sagittal if plane == "sagittal" else self.axial

    def to_dict(self) -> dict[str, Any]:
        return {"sagittal": self.sagittal.to_dict(), "axial": self.axial.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanePreprocessing:
        missing = [key for key in ("sagittal", "axial") if key not in data]
        if missing:
            raise ValueError(f"preprocessing lacks the plane(s): {', '.join(missing)}")
        return cls(
            PreprocessingConfig.from_dict(data["sagittal"]), PreprocessingConfig.from_dict(data["axial"])
        )

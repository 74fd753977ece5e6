"""The segmenter the analysis asks: one slice and text prompts in, per-prompt mask probability,
grade probabilities and explanation map out (`engine.runtime.segmenter.PromptResult`).

`StructureSegmenter` is the interface; `OnnxStructureSegmenter` answers it with a model pack on
ONNX Runtime (sessions created once and reused). Tests and evaluations may inject another
implementation, e.g. one that returns ground-truth masks, to check the geometry and logic around
the model on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.findings import Provenance
from engine.runtime.model_pack import (
    DEFAULT_PACK_NAME,
    ModelPack,
    ModelPackError,
    bundled_models_dir,
    find_model_pack,
    load_model_pack,
    user_models_dir,
)
from engine.runtime.segmenter import PromptResult, PromptSegmenter
from engine.runtime.sessions import SessionCache
from engine.study.model import ImageSlice, Orientation, Series

SAGITTAL = "sagittal"
AXIAL = "axial"


@dataclass(frozen=True, eq=False)
class SliceImage:
    """One 2D image to segment.

    pixels: float32 (rows, columns), stored values after the modality rescale.
    spacing_mm: (row spacing, column spacing) in mm, as DICOM PixelSpacing.
    plane: 'sagittal' or 'axial' (chooses the model's preprocessing).
    series_instance_uid / image_slice: where the image comes from in a study (None for a plain
        image file); segmenters that answer from stored masks use them.
    """

    pixels: np.ndarray = field(repr=False)
    spacing_mm: tuple[float, float]
    plane: str
    series_instance_uid: str | None = None
    image_slice: ImageSlice | None = None

    def __post_init__(self) -> None:
        if self.pixels.ndim != 2:
            raise ValueError(f"a slice image must be 2D (rows, columns), got shape {self.pixels.shape}")
        if self.plane not in (SAGITTAL, AXIAL):
            raise ValueError(f"plane must be {SAGITTAL!r} or {AXIAL!r}, got {self.plane!r}")
        if min(self.spacing_mm) <= 0:
            raise ValueError(f"pixel spacing must be positive, got {self.spacing_mm}")


def plane_of(series: Series) -> str:
    """'sagittal' for sagittal series, 'axial' for every other orientation."""
    return SAGITTAL if series.orientation is Orientation.SAGITTAL else AXIAL


def slice_image(series: Series, index: int, plane: str | None = None) -> SliceImage:
    """Slice `index` of `series` with its pixels and spacing; ValueError when it has no geometry."""
    image = series.slices[index]
    if image.geometry is None:
        raise ValueError(
            f"slice {index} of series {series.series_number or series.series_instance_uid} has no "
            "pixel spacing or orientation, so it cannot be measured"
        )
    return SliceImage(
        pixels=series.slice_pixels(index),
        spacing_mm=image.geometry.pixel_spacing_mm,
        plane=plane or plane_of(series),
        series_instance_uid=series.series_instance_uid,
        image_slice=image,
    )


class StructureSegmenter(Protocol):
    """What the analysis needs from a segmentation model."""

    def segment(
        self, image: SliceImage, prompts: Sequence[str], centre_rc: tuple[float, float] | None = None
    ) -> list[PromptResult]:
        """One PromptResult per prompt, in order, on the image's own pixel grid. centre_rc: the
        (row, column) to centre the model's field of view on; None = image centre."""
        ...

    def field_of_view_mm(self, plane: str) -> float:
        """Width of the square region the model sees around the centre (mm); inf = whole image."""
        ...

    def provenance(self, parameters: tuple[tuple[str, str], ...] = ()) -> Provenance:
        """Model identity (name, version, sha256) with the given parameters."""
        ...

    def execution_providers(self) -> list[str]:
        """What the model runs on (e.g. ['CPUExecutionProvider'])."""
        ...


class OnnxStructureSegmenter:
    """A model pack on ONNX Runtime; sessions are created on first use and reused."""

    def __init__(
        self,
        pack: ModelPack,
        provider: str = "auto",
        intra_op_threads: int | None = None,
        sessions: SessionCache | None = None,
    ) -> None:
        self.pack = pack
        self.provider = provider
        self._runtime = PromptSegmenter(pack, provider, intra_op_threads, sessions)

    def segment(
        self, image: SliceImage, prompts: Sequence[str], centre_rc: tuple[float, float] | None = None
    ) -> list[PromptResult]:
        return self._runtime.segment(image.pixels, image.spacing_mm, list(prompts), image.plane, centre_rc)

    def field_of_view_mm(self, plane: str) -> float:
        config = self.pack.preprocessing.for_plane(plane)
        return float(min(config.input_size) * config.target_spacing_mm)

    def provenance(self, parameters: tuple[tuple[str, str], ...] = ()) -> Provenance:
        return self.pack.provenance(parameters)

    def execution_providers(self) -> list[str]:
        return self._runtime.execution_providers()


def _missing_default_message() -> str:
    return (
        f"the default model pack {DEFAULT_PACK_NAME!r} is not installed (looked in {bundled_models_dir()} "
        f"and {user_models_dir()}). Train and export it with "
        "`lss train --config training/recipes/lss-default.json` (writes resources/models/lss-default), "
        "copy a model pack folder into the user model folder, or pass --model PATH_OR_NAME"
    )


def resolve_model_pack(model: str | Path | None = None) -> ModelPack:
    """The verified pack for `model`: a pack folder path, a pack name, or None for the default.

    Raises ModelPackError (missing, tampered, truncated or incompatible) with a message that says
    what to do.
    """
    if model is not None and (Path(model).is_dir() or "/" in str(model) or "\\" in str(model)):
        return load_model_pack(Path(model))
    try:
        return find_model_pack(None if model is None else str(model))
    except ModelPackError as exc:
        if model is None and "no model pack named" in str(exc):
            raise ModelPackError(_missing_default_message()) from exc
        raise


def open_segmenter(
    model: str | Path | ModelPack | None = None, device: str = "auto", intra_op_threads: int | None = None
) -> OnnxStructureSegmenter:
    """A segmenter on a model pack (path, name, ModelPack, or None for the default) and device
    'auto' (CUDA when ONNX Runtime really runs on it), 'cpu' or 'cuda'."""
    pack = model if isinstance(model, ModelPack) else resolve_model_pack(model)
    return OnnxStructureSegmenter(pack, device, intra_op_threads)

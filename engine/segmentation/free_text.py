"""Free text-guided segmentation: a prompt on one slice or a range of slices of a series, giving
masks with the provenance of the model and parameters that drew them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from engine.findings import SliceMask
from engine.segmentation.segmenter import StructureSegmenter, slice_image
from engine.study.model import Series

DEFAULT_MASK_THRESHOLD = 0.5


def segment_slices(
    series: Series,
    slice_indices: int | Iterable[int],
    prompt: str,
    segmenter: StructureSegmenter,
    *,
    threshold: float = DEFAULT_MASK_THRESHOLD,
    centre_rc: tuple[float, float] | None = None,
    plane: str | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[SliceMask, ...]:
    """One SliceMask (bool (rows, columns)) per slice index, for the text `prompt`.

    threshold: mask probability at or above which a pixel is in the mask (0..1).
    centre_rc: (row, column) to centre the model's view on; None = each slice's centre.
    plane: 'sagittal' or 'axial' preprocessing; None = from the series orientation.
    cancel: polled between slices; when it returns True the masks made so far are returned.
    Raises IndexError for an index outside the series, ValueError for an empty prompt or a slice
    without geometry.
    """
    text = prompt.strip()
    if not text:
        raise ValueError("the prompt is empty")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    indices = [slice_indices] if isinstance(slice_indices, int) else list(slice_indices)
    for index in indices:
        if not 0 <= index < len(series.slices):
            raise IndexError(f"slice {index} is outside the series (0..{len(series.slices) - 1})")
    masks = []
    for index in indices:
        if cancel is not None and cancel():
            break
        image = slice_image(series, index, plane)
        result = segmenter.segment(image, [text], centre_rc)[0]
        parameters = (
            ("prompt", text),
            ("threshold", f"{threshold:g}"),
            ("plane", image.plane),
            ("centre_rc", "image centre" if centre_rc is None else f"{centre_rc[0]:.1f},{centre_rc[1]:.1f}"),
        )
        source = series.slices[index]
        masks.append(
            SliceMask(
                structure=text,
                series_instance_uid=series.series_instance_uid,
                sop_instance_uid=source.sop_instance_uid,
                frame_index=source.frame_index,
                mask=np.asarray(result.mask_probability >= threshold),
                provenance=segmenter.provenance(parameters),
            )
        )
    return tuple(masks)

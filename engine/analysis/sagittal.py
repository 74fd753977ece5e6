"""The sagittal stage of an analysis: pick the sagittal T2 series and its mid-sagittal slice (the
middle slice with the largest canal), segment vertebrae, discs and the canal on it, and derive the
canal centreline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.analysis.errors import MissingSeriesError
from engine.analysis.parameters import AnalysisParameters
from engine.canal.centreline import CanalCentreline, canal_centreline_from_mask
from engine.findings import SliceMask, Structure
from engine.segmentation.segmenter import SAGITTAL, SliceImage, StructureSegmenter, slice_image
from engine.study.model import Orientation, Series, SliceGeometry, Study
from engine.study.model import Sequence as MrSequence

SAGITTAL_PROMPTS: tuple[str, ...] = (
    Structure.VERTEBRA.value,
    Structure.INTERVERTEBRAL_DISC.value,
    Structure.SPINAL_CANAL.value,
)


@dataclass(frozen=True, eq=False)
class SagittalSegmentation:
    """Probabilities (rows, columns) per sagittal prompt on the chosen mid-sagittal slice."""

    series: Series
    slice_index: int
    image: SliceImage
    probabilities: dict[str, np.ndarray] = field(repr=False)
    canal_area_mm2: float
    candidate_indices: tuple[int, ...]
    centre_rc: tuple[float, float] | None
    centreline: CanalCentreline | None

    @property
    def geometry(self) -> SliceGeometry:
        geometry = self.image.image_slice.geometry if self.image.image_slice else None
        assert geometry is not None  # slice_image refuses slices without geometry
        return geometry

    def masks(self, segmenter: StructureSegmenter, threshold: float) -> tuple[SliceMask, ...]:
        """The sagittal segmentations as SliceMasks (bool), with provenance."""
        source = self.series.slices[self.slice_index]
        return tuple(
            SliceMask(
                structure=prompt,
                series_instance_uid=self.series.series_instance_uid,
                sop_instance_uid=source.sop_instance_uid,
                frame_index=source.frame_index,
                mask=np.asarray(probability >= threshold),
                provenance=segmenter.provenance(
                    (("prompt", prompt), ("threshold", f"{threshold:g}"), ("plane", SAGITTAL))
                ),
            )
            for prompt, probability in self.probabilities.items()
        )


def choose_sagittal_series(study: Study) -> tuple[Series, tuple[str, ...]]:
    """The sagittal T2 series (most slices), else a sagittal STIR with a warning.

    Raises MissingSeriesError when the study has neither.
    """
    for sequence, warning in (
        (MrSequence.T2, ()),
        (MrSequence.STIR, ("no sagittal T2: levels found on the STIR series",)),
    ):
        found = [
            s for s in study.find_series(Orientation.SAGITTAL, sequence) if any(x.geometry for x in s.slices)
        ]
        if found:
            return found[0], warning
    present = ", ".join(sorted({f"{s.orientation.value} {s.sequence.value}" for s in study.series})) or "none"
    raise MissingSeriesError(f"the study has no sagittal T2 series (series present: {present})")


def choose_axial_series(study: Study) -> list[Series]:
    """Every axial T2 series with geometry (a study may split angled stacks into several series).

    Raises MissingSeriesError when there is none.
    """
    found = [
        s for s in study.find_series(Orientation.AXIAL, MrSequence.T2) if any(x.geometry for x in s.slices)
    ]
    if not found:
        present = (
            ", ".join(sorted({f"{s.orientation.value} {s.sequence.value}" for s in study.series})) or "none"
        )
        raise MissingSeriesError(f"the study has no axial T2 series (series present: {present})")
    return found


def middle_slice_indices(series: Series, count: int) -> tuple[int, ...]:
    """The `count` slices (with geometry) nearest the middle of the series, middle first."""
    usable = [i for i, s in enumerate(series.slices) if s.geometry is not None]
    middle = (len(usable) - 1) / 2.0
    return tuple(sorted(usable, key=lambda i: (abs(usable.index(i) - middle), i))[:count])


def _area_mm2(probability: np.ndarray, spacing: Sequence[float], threshold: float) -> float:
    return float((probability >= threshold).sum() * spacing[0] * spacing[1])


def _centroid(probability: np.ndarray, threshold: float) -> tuple[float, float] | None:
    rows, columns = np.nonzero(probability >= threshold)
    if len(rows) == 0:
        return None
    return float(rows.mean()), float(columns.mean())


def recentre_on_canal(
    image: SliceImage,
    probabilities: dict[str, np.ndarray],
    segmenter: StructureSegmenter,
    parameters: AnalysisParameters,
) -> tuple[dict[str, np.ndarray], tuple[float, float] | None]:
    """Re-segment a sagittal image centred on its canal when the model sees less than the whole
    image and the canal lies more than `recentre_sagittal_mm` off-centre; (probabilities, centre
    used or None for the image centre)."""
    centre = _centroid(probabilities[Structure.SPINAL_CANAL.value], parameters.mask_threshold)
    rows, columns = image.pixels.shape
    extent_mm = min(rows * image.spacing_mm[0], columns * image.spacing_mm[1])
    if centre is None or segmenter.field_of_view_mm(SAGITTAL) >= extent_mm:
        return probabilities, None
    offset_mm = float(
        np.hypot(
            (centre[0] - (rows - 1) / 2.0) * image.spacing_mm[0],
            (centre[1] - (columns - 1) / 2.0) * image.spacing_mm[1],
        )
    )
    if offset_mm <= parameters.recentre_sagittal_mm:
        return probabilities, None
    results = segmenter.segment(image, SAGITTAL_PROMPTS, centre)
    return {r.prompt: r.mask_probability for r in results}, centre


def segment_mid_sagittal(
    series: Series, segmenter: StructureSegmenter, parameters: AnalysisParameters
) -> SagittalSegmentation:
    """Segment the middle slices, keep the one with the largest canal, and re-segment it centred on
    the canal when the model's view is smaller than the image and the canal lies off-centre."""
    threshold = parameters.mask_threshold
    best: tuple[float, int, SliceImage, dict[str, np.ndarray]] | None = None
    candidates = middle_slice_indices(series, parameters.sagittal_candidate_slices)
    for index in candidates:
        image = slice_image(series, index, SAGITTAL)
        results = segmenter.segment(image, SAGITTAL_PROMPTS)
        probabilities = {r.prompt: r.mask_probability for r in results}
        area = _area_mm2(probabilities[Structure.SPINAL_CANAL.value], image.spacing_mm, threshold)
        if best is None or area > best[0]:
            best = (area, index, image, probabilities)
    assert best is not None  # choose_sagittal_series only returns series with geometry
    area, index, image, probabilities = best
    probabilities, centre = recentre_on_canal(image, probabilities, segmenter, parameters)
    if centre is not None:
        area = _area_mm2(probabilities[Structure.SPINAL_CANAL.value], image.spacing_mm, threshold)
    geometry = series.slices[index].geometry
    assert geometry is not None
    centreline = canal_centreline_from_mask(
        probabilities[Structure.SPINAL_CANAL.value], geometry, threshold=threshold
    )
    return SagittalSegmentation(
        series=series,
        slice_index=index,
        image=image,
        probabilities=probabilities,
        canal_area_mm2=area,
        candidate_indices=candidates,
        centre_rc=centre,
        centreline=centreline,
    )

"""Central canal findings at one disc level, on its key axial slice: the dural sac mask from the text
prompt, its cross-sectional area and AP diameter corrected for the slice's obliquity to the canal,
the Schizas grade with probabilities from the grade head checked against the area thresholds, and
the cross-attention explanation map."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.analysis.parameters import AnalysisParameters
from engine.canal.centreline import CanalCentreline, fallback_canal_point
from engine.findings import (
    DISC_LEVELS,
    Condition,
    DiscLevel,
    LevelFinding,
    SchizasGrade,
    SliceMask,
    Structure,
)
from engine.levels.axial_assignment import AxialSliceLevel
from engine.measurements import classify_dural_sac_area, grade_agrees_with_area, measure_dural_sac
from engine.segmentation.segmenter import AXIAL, StructureSegmenter, slice_image
from engine.study.model import Series

# The confidence of a finding without a dural sac mask (the grade alone) is multiplied by this.
NO_MASK_CONFIDENCE_FACTOR = 0.5


@dataclass(frozen=True, eq=False)
class LevelOutcome:
    """What the analysis of one level produced."""

    finding: LevelFinding
    mask: SliceMask | None
    explanation: SliceMask


def dural_sac_prompt(level: str, with_level_words: bool) -> str:
    """ "dural sac at L4-L5" for the lumbar levels the model knows, else "dural sac"."""
    return (
        f"{Structure.DURAL_SAC.value} at {level}"
        if with_level_words and level in DISC_LEVELS
        else Structure.DURAL_SAC.value
    )


def canal_at_disc(disc: DiscLevel, centreline: CanalCentreline | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(canal point at the disc (3,), canal direction (3,), 'sagittal canal' or 'disc geometry')."""
    centre, normal = np.asarray(disc.centre_lps), np.asarray(disc.normal_lps)
    if centreline is not None:
        point = centreline.point_at_disc(centre, normal)
        if point is not None:
            return point, centreline.direction_at(point), "sagittal canal"
    return fallback_canal_point(centre, normal), normal / np.linalg.norm(normal), "disc geometry"


def _component_at(mask: np.ndarray, centre_rc: tuple[float, float] | None) -> np.ndarray:
    """The connected component of `mask` containing (or nearest) `centre_rc`; the largest without it."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    if centre_rc is None:
        keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    else:
        row, column = (round(v) for v in centre_rc)
        inside = 0 <= row < mask.shape[0] and 0 <= column < mask.shape[1]
        keep = int(labels[row, column]) if inside else 0
        if keep == 0:
            distances = np.hypot(centroids[1:, 1] - centre_rc[0], centroids[1:, 0] - centre_rc[1])
            keep = 1 + int(np.argmin(distances))
    return np.asarray(labels == keep)


def _grade_probabilities(pairs: tuple[tuple[str, float], ...]) -> tuple[tuple[SchizasGrade, float], ...]:
    known = {g.value: g for g in SchizasGrade}
    values = {g: 0.0 for g in SchizasGrade}
    for name, probability in pairs:
        if name in known:
            values[known[name]] += max(0.0, float(probability))
    total = sum(values.values())
    if total <= 0:
        return tuple((g, 1.0 / len(values)) for g in values)
    return tuple((g, p / total) for g, p in values.items())


def analyse_level(
    disc: DiscLevel,
    key: AxialSliceLevel,
    series: Series,
    centreline: CanalCentreline | None,
    segmenter: StructureSegmenter,
    parameters: AnalysisParameters,
    run_parameters: tuple[tuple[str, str], ...] = (),
) -> LevelOutcome:
    """Segment, measure and grade the dural sac of `disc` on its key slice `key` of `series`."""
    image = slice_image(series, key.slice_index, AXIAL)
    geometry = series.slices[key.slice_index].geometry
    assert geometry is not None  # slice_image refuses slices without geometry
    warnings: list[str] = []
    canal_point, canal_direction, canal_source = canal_at_disc(disc, centreline)
    row, column, _ = geometry.lps_to_pixel(canal_point)
    centre_rc: tuple[float, float] | None = (float(row), float(column))
    if not (0 <= row < geometry.rows and 0 <= column < geometry.columns):
        centre_rc = None
        warnings.append("the canal at this disc lies outside the key slice; the slice centre was used")
    if canal_source != "sagittal canal":
        warnings.append(
            "the canal was not found on the sagittal series at this disc; its position was estimated"
        )
    prompt = dural_sac_prompt(disc.label, parameters.level_words_in_prompt)
    result = segmenter.segment(image, [prompt], centre_rc)[0]
    mask = _component_at(result.mask_probability >= parameters.mask_threshold, centre_rc)
    probabilities = _grade_probabilities(result.grade_probabilities)
    grade, grade_probability = max(probabilities, key=lambda item: item[1])
    confidence = grade_probability
    area = ap = None
    obliquity = 0.0
    if mask.any():
        measurement = measure_dural_sac(mask, geometry, canal_direction)
        area, ap, obliquity = (
            measurement.dural_sac_area_mm2,
            measurement.ap_diameter_mm,
            measurement.obliquity_deg,
        )
        if not grade_agrees_with_area(grade, area):
            confidence *= parameters.disagreement_confidence_factor
            area_class = classify_dural_sac_area(area).value
            warnings.append(
                f"Schizas grade {grade.value} and the dural sac area {area:.0f} mm² ({area_class} stenosis "
                "by area) disagree"
            )
    else:
        confidence *= NO_MASK_CONFIDENCE_FACTOR
        warnings.append("no dural sac was segmented on the key slice; area and AP diameter not measured")
    provenance = segmenter.provenance(
        (
            *run_parameters,
            ("prompt", prompt),
            ("key_slice_distance_mm", f"{key.distance_to_disc_mm:.2f}"),
            ("key_slice_angle_deg", f"{key.angle_to_disc_deg:.1f}"),
            ("canal_source", canal_source),
            ("canal_direction_lps", ",".join(f"{v:.4f}" for v in canal_direction)),
            ("obliquity_deg", f"{obliquity:.1f}"),
        )
    )
    source = series.slices[key.slice_index]
    finding = LevelFinding(
        level=disc.label,
        condition=Condition.CENTRAL_CANAL_STENOSIS,
        grade=grade,
        grade_probabilities=probabilities,
        dural_sac_area_mm2=area,
        ap_diameter_mm=ap,
        confidence=float(np.clip(confidence, 0.0, 1.0)),
        axial_series_uid=series.series_instance_uid,
        key_slice_sop_instance_uid=source.sop_instance_uid,
        key_slice_frame_index=source.frame_index,
        warnings=tuple(warnings),
        provenance=provenance,
    )
    mask_record = (
        SliceMask(
            structure=Structure.DURAL_SAC.value,
            series_instance_uid=series.series_instance_uid,
            sop_instance_uid=source.sop_instance_uid,
            frame_index=source.frame_index,
            mask=mask,
            provenance=provenance,
        )
        if mask.any()
        else None
    )
    explanation = SliceMask(
        structure=Structure.DURAL_SAC.value,
        series_instance_uid=series.series_instance_uid,
        sop_instance_uid=source.sop_instance_uid,
        frame_index=source.frame_index,
        mask=result.explanation.astype(np.float32),
        provenance=provenance,
    )
    return LevelOutcome(finding=finding, mask=mask_record, explanation=explanation)

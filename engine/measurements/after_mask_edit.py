"""Re-measuring the findings after a person edited masks (brush, eraser, undo).

A level's dural sac area and AP diameter come from the mask its report sentence rests on (the dural
sac mask on the level's key slice, else the spinal canal mask: `engine.reporting.evidence`). When a
person edits that mask, the level is measured again on the edited pixels (obliquity-corrected along
the disc normal of the level), the grade's agreement with the area class is checked again, and the
finding is marked as measured on an edited mask. The grade itself is the grade head's and is not
changed by an edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.findings import LevelFinding, SliceMask, StudyFindings
from engine.measurements.area_thresholds import (
    DEFAULT_AREA_THRESHOLDS,
    AreaThresholds,
    grade_agrees_with_area,
)
from engine.measurements.dural_sac import measure_dural_sac
from engine.reporting.evidence import measurement_mask
from engine.study.model import SliceGeometry, Study

AREA_DISAGREEMENT_WARNING = "grade and dural sac area disagree"
# How much a level's confidence drops when its grade contradicts its area class.
DISAGREEMENT_CONFIDENCE_FACTOR = 0.65

MaskKey = tuple[str, str, int | None, str]  # (series UID, SOP instance UID, frame index, structure)


def mask_key(mask: SliceMask) -> MaskKey:
    """What identifies a mask within a study's findings: its slice and its structure."""
    return (mask.series_instance_uid, mask.sop_instance_uid, mask.frame_index, mask.structure)


def confidence_with_area_check(grade_probability: float, agrees: bool) -> float:
    """A level's confidence (0..1): the grade head's probability of its grade, lowered by
    DISAGREEMENT_CONFIDENCE_FACTOR when the grade contradicts the dural sac area class."""
    return float(grade_probability) * (1.0 if agrees else DISAGREEMENT_CONFIDENCE_FACTOR)


def canal_direction_at(findings: StudyFindings, level: str) -> tuple[float, float, float] | None:
    """The canal's axis at a level (LPS unit vector), taken as the disc normal; None without a disc."""
    disc = next((d for d in findings.levels if d.label == level), None)
    return None if disc is None else disc.normal_lps


def remeasured_finding(
    finding: LevelFinding,
    mask: SliceMask,
    geometry: SliceGeometry,
    canal_direction_lps: tuple[float, float, float] | None,
    thresholds: AreaThresholds = DEFAULT_AREA_THRESHOLDS,
) -> LevelFinding:
    """`finding` measured again on `mask` (bool (rows, columns) on the slice `geometry` describes).

    An empty mask leaves the level unmeasured (area and AP diameter None), not 0 mm². The area
    disagreement warning and the confidence follow the new area; other warnings are kept.
    """
    measured = measure_dural_sac(mask.mask, geometry, canal_direction_lps)
    area = measured.dural_sac_area_mm2 if measured.pixel_count else None
    ap = measured.ap_diameter_mm if measured.pixel_count else None
    agrees = area is None or grade_agrees_with_area(finding.grade, area, thresholds)
    warnings = tuple(w for w in finding.warnings if w != AREA_DISAGREEMENT_WARNING)
    if not agrees:
        warnings += (AREA_DISAGREEMENT_WARNING,)
    return replace(
        finding,
        dural_sac_area_mm2=area,
        ap_diameter_mm=ap,
        confidence=confidence_with_area_check(finding.probability(finding.grade), agrees),
        warnings=warnings,
        measured_on_edited_mask=True,
    )


def slice_geometry(
    study: Study, series_instance_uid: str, sop_instance_uid: str, frame_index: int | None
) -> SliceGeometry:
    """The geometry of one image of the study; KeyError when it is not there or has no geometry."""
    for series in study.series:
        if series.series_instance_uid != series_instance_uid:
            continue
        try:
            index = series.slice_index_by_uid(sop_instance_uid, frame_index)
        except KeyError:
            continue  # another part of a split series
        geometry = series.slices[index].geometry
        if geometry is None:
            raise KeyError(f"image {sop_instance_uid} has no geometry: it cannot be measured")
        return geometry
    raise KeyError(f"image {sop_instance_uid} of series {series_instance_uid} is not in the study")


def findings_with_edited_masks(
    findings: StudyFindings,
    edited: Sequence[SliceMask],
    study: Study,
    thresholds: AreaThresholds = DEFAULT_AREA_THRESHOLDS,
) -> tuple[StudyFindings, tuple[str, ...]]:
    """Put edited masks into the findings and re-measure the levels that rest on them.

    Each edited mask replaces the mask with the same slice and structure (or is added). Returns the
    new findings and the labels of the levels that were re-measured, cranial to caudal as in
    `findings.findings`. Masks that do not match their slice's matrix are refused (ValueError).
    """
    replacements = {mask_key(m): m for m in edited}
    masks = tuple(replacements.pop(mask_key(m), m) for m in findings.masks) + tuple(replacements.values())
    changed = replace(findings, masks=masks)
    edited_keys = {mask_key(m) for m in edited}
    remeasured: list[str] = []
    level_findings = []
    for finding in findings.findings:
        source = measurement_mask(changed, finding)
        if source is None or mask_key(source) not in edited_keys:
            level_findings.append(finding)
            continue
        geometry = slice_geometry(
            study, source.series_instance_uid, source.sop_instance_uid, source.frame_index
        )
        level_findings.append(
            remeasured_finding(
                finding, source, geometry, canal_direction_at(findings, finding.level), thresholds
            )
        )
        remeasured.append(finding.level)
    return replace(changed, findings=tuple(level_findings)), tuple(remeasured)

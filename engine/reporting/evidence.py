"""The evidence a level sentence rests on, taken from a StudyFindings."""

from __future__ import annotations

import hashlib

import numpy as np

from engine.findings import LevelFinding, SliceMask, Structure, StudyFindings
from engine.reporting.model import Evidence, MaskReference

# Masks a canal measurement is made on, in order of preference.
MEASUREMENT_STRUCTURES: tuple[str, ...] = (Structure.DURAL_SAC.value, Structure.SPINAL_CANAL.value)


def mask_sha256(mask: np.ndarray) -> str:
    """sha256 of a mask's shape and its pixels taken as booleans (rows, columns)."""
    m = np.ascontiguousarray(np.asarray(mask) != 0)
    h = hashlib.sha256(f"{m.shape}".encode())
    h.update(np.packbits(m).tobytes())
    return h.hexdigest()


def mask_reference(mask: SliceMask) -> MaskReference:
    return MaskReference(
        structure=mask.structure,
        series_instance_uid=mask.series_instance_uid,
        sop_instance_uid=mask.sop_instance_uid,
        frame_index=mask.frame_index,
        sha256=mask_sha256(mask.mask),
        edited_by_person=mask.edited_by_person,
    )


def measurement_mask(findings: StudyFindings, finding: LevelFinding) -> SliceMask | None:
    """The mask on the finding's key slice that its measurements come from, if present."""
    if finding.key_slice_sop_instance_uid is None:
        return None
    on_key_slice = [
        m
        for m in findings.masks
        if m.sop_instance_uid == finding.key_slice_sop_instance_uid
        and m.frame_index == finding.key_slice_frame_index
    ]
    for structure in MEASUREMENT_STRUCTURES:
        for m in on_key_slice:
            if m.structure == structure:
                return m
    return None


def evidence_for_finding(findings: StudyFindings, finding: LevelFinding) -> Evidence:
    mask = measurement_mask(findings, finding)
    disc = next((d for d in findings.levels if d.label == finding.level), None)
    return Evidence(
        grade=finding.grade,
        dural_sac_area_mm2=finding.dural_sac_area_mm2,
        ap_diameter_mm=finding.ap_diameter_mm,
        confidence=finding.confidence,
        key_slice_series_uid=finding.axial_series_uid,
        key_slice_sop_instance_uid=finding.key_slice_sop_instance_uid,
        key_slice_frame_index=finding.key_slice_frame_index,
        mask=None if mask is None else mask_reference(mask),
        disc_sagittal_sop_instance_uid=None if disc is None else disc.sagittal_sop_instance_uid,
        level_label_overridden=False if disc is None else disc.label_overridden,
    )

"""Typed, frozen results of an analysis: disc levels and per-level central canal findings.

Every finding carries the provenance of the model and parameters that produced it. Masks and
explanation maps are numpy arrays referenced from findings; they are compared by identity.
The data model keys findings by (level, condition) so conditions beyond the central canal
(e.g. foraminal stenosis) can be added without changing existing ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from engine.study.model import LoadReport

FINDINGS_SCHEMA_VERSION = "1.1"

# Disc levels from cranial to caudal.
DISC_LEVELS: tuple[str, ...] = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


class SchizasGrade(StrEnum):
    A = "A"  # CSF clearly visible, rootlets dispersed: none / minimal
    B = "B"  # rootlets fill the sac, still separable, grainy CSF: moderate
    C = "C"  # no rootlet recognisable, homogeneous grey sac, posterior epidural fat visible: severe
    D = "D"  # as C and no posterior epidural fat: extreme

    @property
    def severity(self) -> str:
        return {"A": "none or minimal", "B": "moderate", "C": "severe", "D": "extreme"}[self.value]

    @property
    def rsna_severity(self) -> str:
        """Mapping to the RSNA 2024 scale (Normal/Mild, Moderate, Severe)."""
        return {"A": "Normal/Mild", "B": "Moderate", "C": "Severe", "D": "Severe"}[self.value]


class Condition(StrEnum):
    CENTRAL_CANAL_STENOSIS = "central_canal_stenosis"


class Structure(StrEnum):
    """Structures the segmentation model knows, with the canonical text prompt for each."""

    VERTEBRA = "vertebra"
    INTERVERTEBRAL_DISC = "intervertebral disc"
    SPINAL_CANAL = "spinal canal"
    DURAL_SAC = "dural sac"
    POSTERIOR_EPIDURAL_FAT = "posterior epidural fat"


@dataclass(frozen=True)
class Provenance:
    """What produced a result: model identity and the parameters that mattered."""

    model_name: str
    model_version: str
    model_sha256: str
    engine_version: str
    parameters: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "model_sha256": self.model_sha256,
            "engine_version": self.engine_version,
            "parameters": dict(self.parameters),
        }


@dataclass(frozen=True)
class DiscLevel:
    """A labelled intervertebral disc found on the sagittal series."""

    label: str  # one of DISC_LEVELS
    centre_lps: tuple[float, float, float]  # disc centre in patient space, mm
    normal_lps: tuple[float, float, float]  # unit vector perpendicular to the disc plane
    confidence: float  # 0..1
    sagittal_series_uid: str
    sagittal_sop_instance_uid: str  # the sagittal slice the disc was found on
    label_overridden: bool = False  # True when a person changed the label


@dataclass(frozen=True, eq=False)
class SliceMask:
    """A binary mask on one image slice, with where it came from."""

    structure: str  # a Structure value or free prompt text
    series_instance_uid: str
    sop_instance_uid: str
    frame_index: int | None
    mask: np.ndarray = field(repr=False)  # bool (rows, columns)
    provenance: Provenance | None = None
    edited_by_person: bool = False


@dataclass(frozen=True)
class LevelFinding:
    """Central canal findings at one disc level."""

    level: str  # one of DISC_LEVELS
    condition: Condition
    grade: SchizasGrade
    grade_probabilities: tuple[tuple[SchizasGrade, float], ...]  # A..D, sums to 1
    dural_sac_area_mm2: float | None
    ap_diameter_mm: float | None
    confidence: float  # 0..1, lowered when the grade head and the area thresholds disagree
    axial_series_uid: str | None
    key_slice_sop_instance_uid: str | None
    key_slice_frame_index: int | None
    warnings: tuple[str, ...]
    provenance: Provenance
    measured_on_edited_mask: bool = False

    def probability(self, grade: SchizasGrade) -> float:
        return dict(self.grade_probabilities).get(grade, 0.0)


@dataclass(frozen=True, eq=False)
class StudyFindings:
    """Everything one analysis produced for one study."""

    study_instance_uid: str
    levels: tuple[DiscLevel, ...]
    findings: tuple[LevelFinding, ...]
    masks: tuple[SliceMask, ...] = ()
    explanations: tuple[SliceMask, ...] = ()  # attention maps as float masks (0..1) on key slices
    warnings: tuple[str, ...] = ()
    provenance: Provenance | None = None
    schema_version: str = FINDINGS_SCHEMA_VERSION
    # Discs found on the sagittal series but not analysed (e.g. T12-L1), kept so that a person's
    # relabelling (transitional anatomy) can bring one into the lumbar levels.
    other_discs: tuple[DiscLevel, ...] = ()
    load_report: LoadReport | None = None  # how the study was read (files, skipped files and why)

    def finding_for(
        self, level: str, condition: Condition = Condition.CENTRAL_CANAL_STENOSIS
    ) -> LevelFinding | None:
        for f in self.findings:
            if f.level == level and f.condition is condition:
                return f
        return None

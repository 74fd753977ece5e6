"""Coded concepts LSS Desktop writes into DICOM SEG and SR objects.

Standard codes (SNOMED CT "SCT", DICOM "DCM", UCUM, LOINC "LN") are used wherever one exists.
Where none exists (the Schizas grade, how the AP diameter is measured, prompt-only structures),
codes come from the local coding scheme `LOCAL_SCHEME_DESIGNATOR` ("99LSSD"; a "99" prefix marks
a private scheme in DICOM PS3.16 section 8.2), declared in every object that uses it through the
Coding Scheme Identification Sequence. Its codes, stable across versions:

| Code value   | Meaning                                                         |
|--------------|-----------------------------------------------------------------|
| SCHIZAS      | Schizas grade of central canal stenosis (concept name)          |
| SCHIZAS-A..D | Schizas grade A..D, with the severity each grade stands for      |
| AP-EXTENT    | AP diameter measured as the anteroposterior extent of the mask  |
| EDITED-MASK  | Measured on a mask edited by a person (concept name, value Yes/No) |
| PROMPT       | Structure named only by a free text prompt (meaning: the prompt)|
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from engine.findings import DISC_LEVELS, SchizasGrade, Structure

LOCAL_SCHEME_DESIGNATOR = "99LSSD"
LOCAL_SCHEME_NAME = "LSS Desktop local codes"
LOCAL_SCHEME_VERSION = "1"
LOCAL_SCHEME_ORGANISATION = "LSS Desktop project"


def local_code(value: str, meaning: str) -> Code:
    """A code of the local scheme; meaning is cut to the 64 characters of the LO value."""
    return Code(value, LOCAL_SCHEME_DESIGNATOR, meaning[:64])


@dataclass(frozen=True)
class SegmentCoding:
    """How one structure is described in a DICOM SEG segment (PS3.3 C.8.20.4)."""

    category: Code
    property_type: Code
    anatomic_region: Code | None = None


# SNOMED CT concepts for the segmented structures. Dural/thecal sac: 37554007 "Spinal dura mater
# structure", the concept the AAPM TG-263 / HL7 structure map uses for "ThecalSac".
_STRUCTURE_CODING: dict[str, SegmentCoding] = {
    Structure.VERTEBRA: SegmentCoding(codes.SCT.AnatomicalStructure, codes.SCT.Vertebra),
    Structure.INTERVERTEBRAL_DISC: SegmentCoding(
        codes.SCT.AnatomicalStructure, Code("360499006", "SCT", "Intervertebral disc")
    ),
    Structure.SPINAL_CANAL: SegmentCoding(
        codes.SCT.AnatomicalStructure, Code("61853006", "SCT", "Vertebral canal")
    ),
    Structure.DURAL_SAC: SegmentCoding(
        codes.SCT.AnatomicalStructure, Code("37554007", "SCT", "Spinal dura mater")
    ),
    Structure.POSTERIOR_EPIDURAL_FAT: SegmentCoding(
        codes.SCT.Tissue,
        Code("55603005", "SCT", "Fat"),
        anatomic_region=Code("61853006", "SCT", "Vertebral canal"),
    ),
}

DURAL_SAC = _STRUCTURE_CODING[Structure.DURAL_SAC].property_type
SPINAL_CANAL = _STRUCTURE_CODING[Structure.SPINAL_CANAL].property_type


def segment_coding(structure: str) -> SegmentCoding:
    """Coding of a known structure, or a local PROMPT code carrying the prompt text."""
    known = _STRUCTURE_CODING.get(structure)
    if known is not None:
        return known
    return SegmentCoding(codes.SCT.AnatomicalStructure, local_code("PROMPT", structure))


# SNOMED CT "Level of Lx/Ly intervertebral disc" (CID 1000 family), the finding site of a level.
_LEVEL_CODES: dict[str, Code] = {
    "L1-L2": codes.SCT.LevelOfL1L2IntervertebralDisc,
    "L2-L3": codes.SCT.LevelOfL2L3IntervertebralDisc,
    "L3-L4": codes.SCT.LevelOfL3L4IntervertebralDisc,
    "L4-L5": codes.SCT.LevelOfL4L5IntervertebralDisc,
    "L5-S1": codes.SCT.LevelOfL5S1IntervertebralDisc,
}


def level_code(level: str) -> Code:
    """SNOMED CT code of a disc level label from DISC_LEVELS; KeyError names an unknown label."""
    try:
        return _LEVEL_CODES[level]
    except KeyError:
        raise KeyError(f"unknown disc level {level!r}; expected one of {', '.join(DISC_LEVELS)}") from None


SCHIZAS_GRADE = local_code("SCHIZAS", "Schizas grade of central canal stenosis")


def schizas_grade_code(grade: SchizasGrade) -> Code:
    return local_code(f"SCHIZAS-{grade.value}", f"Schizas grade {grade.value} ({grade.severity})")


# Severity in SNOMED CT terms, so readers that do not know the local scheme still get it.
# SNOMED CT has no "extreme" severity: grade D maps to Severe, its Schizas code keeps the D.
SEVERITY = Code("246112005", "SCT", "Severity")
_SEVERITY_CODES: dict[SchizasGrade, Code] = {
    SchizasGrade.A: Code("255605001", "SCT", "Minimal"),
    SchizasGrade.B: codes.SCT.Moderate,
    SchizasGrade.C: codes.SCT.Severe,
    SchizasGrade.D: codes.SCT.Severe,
}


def severity_code(grade: SchizasGrade) -> Code:
    return _SEVERITY_CODES[grade]


AREA = codes.SCT.Area
DIAMETER = codes.SCT.Diameter
AP_EXTENT_METHOD = local_code("AP-EXTENT", "Anteroposterior extent of the segmented region")
MEASURED_ON_EDITED_MASK = local_code("EDITED-MASK", "Measured on a mask edited by a person")
YES = codes.SCT.Yes
NO = codes.SCT.No
SQUARE_MILLIMETRE = codes.UCUM.SquareMillimeter
MILLIMETRE = codes.UCUM.Millimeter
MR_PROCEDURE = codes.LN.MRIUnspecifiedBodyRegion
MRI_SPINE_REPORT = codes.LN.MRISpineReport


def local_scheme_identification() -> Dataset:
    """Coding Scheme Identification Sequence item declaring the local scheme (PS3.3 C.12.1)."""
    item = Dataset()
    item.CodingSchemeDesignator = LOCAL_SCHEME_DESIGNATOR
    item.CodingSchemeName = LOCAL_SCHEME_NAME
    item.CodingSchemeVersion = LOCAL_SCHEME_VERSION
    item.CodingSchemeResponsibleOrganization = LOCAL_SCHEME_ORGANISATION
    return item

"""Problems a site-data folder can have, each naming the file (and field) it is about."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class ProblemSeverity(StrEnum):
    BLOCKING = "blocking"  # training refuses the folder until it is fixed
    WARNING = "warning"  # reported; the affected file or row is skipped, the rest is used


class ProblemCode(StrEnum):
    MISSING_FILE = "missing-file"
    MALFORMED_FILE = "malformed-file"
    UNREADABLE_DICOM = "unreadable-dicom"
    NO_AXIAL_SERIES = "no-axial-series"
    DUPLICATE_STUDY = "duplicate-study"
    SEVERAL_STUDIES = "several-studies-in-folder"
    UNKNOWN_STUDY = "unknown-study"
    UNKNOWN_LEVEL = "unknown-level"
    UNKNOWN_GRADE = "unknown-grade"
    INVALID_VALUE = "invalid-value"
    DUPLICATE_LABEL = "duplicate-label"
    CONFLICTING_LABELS = "conflicting-labels"
    LEVEL_NOT_COVERED = "level-not-covered"
    NO_LEVEL_GEOMETRY = "no-level-geometry"
    MASK_GEOMETRY_MISMATCH = "mask-geometry-mismatch"
    MASK_UNKNOWN_SERIES = "mask-unknown-series"
    MASK_UNKNOWN_LABEL = "mask-unknown-label"
    UNLABELLED_STUDY = "unlabelled-study"
    REPORT_DISAGREES = "report-disagrees-with-label"
    UNUSED_FILE = "unused-file"


@dataclass(frozen=True)
class SiteProblem:
    """One problem: the file (relative to the site folder), what is wrong, how serious."""

    path: str
    code: ProblemCode
    message: str
    severity: ProblemSeverity

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    def text(self) -> str:
        return f"[{self.severity.value}] {self.path}: {self.message} ({self.code.value})"


def blocking(path: str, code: ProblemCode, message: str) -> SiteProblem:
    return SiteProblem(path, code, message, ProblemSeverity.BLOCKING)


def warning(path: str, code: ProblemCode, message: str) -> SiteProblem:
    return SiteProblem(path, code, message, ProblemSeverity.WARNING)

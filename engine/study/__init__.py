"""DICOM study loading: folders -> Study (series, per-slice geometry, lazy pixels, load report)."""

from engine.study.model import (
    ImageSlice,
    IssueSeverity,
    LoadIssue,
    LoadReport,
    Orientation,
    PatientInfo,
    Sequence,
    Series,
    SetAsideSeries,
    SliceGeometry,
    Study,
)

__all__ = [
    "ImageSlice",
    "IssueSeverity",
    "LoadIssue",
    "LoadReport",
    "Orientation",
    "PatientInfo",
    "Sequence",
    "Series",
    "SetAsideSeries",
    "SliceGeometry",
    "Study",
]

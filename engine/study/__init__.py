"""DICOM study loading: folders -> Study (series, per-slice geometry, lazy pixels, load report).

`load_study(path)` reads a folder (recursive, DICOMDIR-aware) or a file; `list_studies(path)`
lists the studies of a folder; `decode_series(series)` decodes a whole series in parallel.
"""

from engine.study.errors import NoDicomFoundError, PixelDecodeError, StudyNotFoundError
from engine.study.loader import StudySummary, list_studies, load_study
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
from engine.study.pixels import decode_series

__all__ = [
    "ImageSlice",
    "IssueSeverity",
    "LoadIssue",
    "LoadReport",
    "NoDicomFoundError",
    "Orientation",
    "PatientInfo",
    "PixelDecodeError",
    "Sequence",
    "Series",
    "SetAsideSeries",
    "SliceGeometry",
    "Study",
    "StudyNotFoundError",
    "StudySummary",
    "decode_series",
    "list_studies",
    "load_study",
]

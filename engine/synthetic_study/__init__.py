"""Synthetic lumbar MRI studies with exact ground truth: the demo, test data and first training data.

A seeded analytic anatomy (vertebrae, discs, dural sac with cauda equina, epidural fat,
ligamentum flavum, facets, muscles) is rendered into sagittal T2/T1 and axial T2 DICOM series,
with per-level Schizas grades, dural sac areas, label masks and a reference report beside it.
numpy/scipy/OpenCV/pydicom (and nibabel for the masks) only.
"""

from engine.synthetic_study.acquisition import AxialStyle
from engine.synthetic_study.ground_truth import (
    GroundTruth,
    GroundTruthError,
    LevelTruth,
    SeriesTruth,
    SliceGeometryTruth,
    SliceLevel,
    read_ground_truth,
)
from engine.synthetic_study.study_writer import (
    GENERATOR_VERSION,
    StudyTiming,
    sample_level_grades,
    write_study,
    write_study_timed,
)

__all__ = [
    "GENERATOR_VERSION",
    "AxialStyle",
    "GroundTruth",
    "GroundTruthError",
    "LevelTruth",
    "SeriesTruth",
    "SliceGeometryTruth",
    "SliceLevel",
    "StudyTiming",
    "read_ground_truth",
    "sample_level_grades",
    "write_study",
    "write_study_timed",
]

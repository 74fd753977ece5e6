"""Study analysis: from a loaded DICOM study to per-level central canal findings on ONNX Runtime
(level labels, axial assignment, dural sac masks, areas, grades, explanation maps)."""

from engine.analysis.errors import AnalysisCancelled, LevelsNotFoundError, MissingSeriesError
from engine.analysis.parameters import AnalysisParameters
from engine.analysis.pipeline import (
    STAGES,
    AnalysisProgress,
    AnalysisResult,
    StageTiming,
    analyze_study,
    relabel_study,
    run_analysis,
)

__all__ = [
    "STAGES",
    "AnalysisCancelled",
    "AnalysisParameters",
    "AnalysisProgress",
    "AnalysisResult",
    "LevelsNotFoundError",
    "MissingSeriesError",
    "StageTiming",
    "analyze_study",
    "relabel_study",
    "run_analysis",
]

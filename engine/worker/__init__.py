"""The analysis worker process the app uses: start an analysis (or a relabelling of the levels) in
its own process, stream its progress, cancel it, get the findings back, and survive its crash."""

from engine.worker.process import (
    AnalysisRequest,
    AnalysisWorker,
    RelabelRequest,
    WorkerCrashedError,
    WorkerFailedError,
)

__all__ = ["AnalysisRequest", "AnalysisWorker", "RelabelRequest", "WorkerCrashedError", "WorkerFailedError"]

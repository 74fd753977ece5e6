"""One analysis (or relabelling) of the open study in the engine's worker process, watched from a
Python thread so the GUI thread never waits on the worker: progress, the findings (decoded and
checked off the GUI thread) and failures arrive as Qt signals, queued to the GUI thread.

The worker is a separate process (engine.worker): ONNX Runtime, and the models' native code, run
there; a crash of it is reported as WorkerCrashedError and leaves the app and its unsaved work as
they were.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, Signal

from engine.findings import StudyFindings
from engine.worker import AnalysisWorker
from engine.worker.process import TimedStage, WorkerRequest

logger = logging.getLogger(__name__)

_POLL_S = 0.1
# On close, how long to wait for the watching thread once the worker is killed (s).
_JOIN_S = 5.0


class AnalysisJob(QObject):
    """Start with `start()`; connect to the signals first (to bound methods of GUI objects, so the
    calls are queued to the GUI thread)."""

    # Each signal carries the job first, so a receiver can drop news from a job it gave up on.
    progressed = Signal(object, object)  # (job, engine.analysis.AnalysisProgress)
    succeeded = Signal(object, object)  # (job, StudyFindings)
    failed = Signal(object, object)  # (job, WorkerFailedError (.kind) | WorkerCrashedError | Exception)

    def __init__(
        self, request: WorkerRequest, findings: StudyFindings | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.request = request
        self.worker = AnalysisWorker(request, findings)
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self.elapsed_s: float | None = None  # from start() to the result or the failure
        self.cancel_requested = False

    @property
    def pid(self) -> int | None:
        """The worker process id (None before start)."""
        return self.worker.pid

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def timings(self) -> tuple[TimedStage, ...]:
        """Seconds per analysis stage, as the worker measured them (after success)."""
        return self.worker.timings

    def start(self) -> None:
        self._started_at = time.perf_counter()
        self.worker.start()
        self._thread = threading.Thread(target=self._watch, name="lss-analysis-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        try:
            while not self.worker.finished:
                for event in self.worker.poll(timeout=_POLL_S):
                    self.progressed.emit(self, event)
            findings = self.worker.result()
        except Exception as exc:  # the GUI shows every failure; none may end this thread silently
            self._stopped()
            self.failed.emit(self, exc)
        else:
            self._stopped()
            self.succeeded.emit(self, findings)

    def _stopped(self) -> None:
        if self._started_at is not None:
            self.elapsed_s = time.perf_counter() - self._started_at

    def cancel(self) -> None:
        """Ask the worker to stop (it is killed if it has not stopped within the engine's grace)."""
        self.cancel_requested = True
        self.worker.cancel()

    def close(self) -> None:
        """End the worker at once (its result is no longer wanted: the study or the window is
        closing; it writes nothing) and let the watching thread finish; idempotent."""
        if self._thread is None:
            return
        self.cancel_requested = True
        self.worker.kill()
        self._thread.join(_JOIN_S)
        if self._thread.is_alive():
            logger.warning("the analysis watcher did not stop within %.0f s", _JOIN_S)

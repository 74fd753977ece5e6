"""Running headless engine calls off the GUI thread: each task gets a cancel event and a
progress callback, and reports its result or exception back on the GUI thread via signals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

logger = logging.getLogger(__name__)


class TaskContext:
    """What a running task may use: `cancel` (set when the user cancels) and `report_progress`."""

    def __init__(self, signals: _TaskSignals) -> None:
        self.cancel = threading.Event()
        self._signals = signals

    def report_progress(self, done: int, total: int) -> None:
        self._signals.progress.emit(int(done), int(total))


class _TaskSignals(QObject):
    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()


class BackgroundTask(QRunnable):
    """One call of `work(context)` on a pool thread. Connect to `signals` before starting."""

    def __init__(self, name: str, work: Callable[[TaskContext], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner owns it until `finished` arrives
        self.name = name
        self.signals = _TaskSignals()
        self.context = TaskContext(self.signals)
        self._work = work

    def cancel(self) -> None:
        self.context.cancel.set()

    @property
    def cancelled(self) -> bool:
        return self.context.cancel.is_set()

    def run(self) -> None:
        try:
            result = self._work(self.context)
        except Exception as exc:  # any failure goes back to the GUI thread as a message
            logger.debug("background task %s failed", self.name, exc_info=True)
            self.signals.failed.emit(exc)
        else:
            self.signals.succeeded.emit(result)
        finally:
            self.signals.finished.emit()


class TaskRunner(QObject):
    """Starts BackgroundTasks on its own thread pool and keeps them alive until they finish."""

    def __init__(self, parent: QObject | None = None, max_threads: int | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        if max_threads is not None:
            self._pool.setMaxThreadCount(max_threads)
        self._running: set[BackgroundTask] = set()

    @property
    def running_count(self) -> int:
        return len(self._running)

    def start(
        self,
        name: str,
        work: Callable[[TaskContext], Any],
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[Exception], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> BackgroundTask:
        task = BackgroundTask(name, work)
        if on_success is not None:
            task.signals.succeeded.connect(on_success)
        if on_failure is not None:
            task.signals.failed.connect(on_failure)
        if on_progress is not None:
            task.signals.progress.connect(on_progress)
        task.signals.finished.connect(lambda: self._running.discard(task))
        self._running.add(task)
        self._pool.start(task)
        return task

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def wait_for_all(self, timeout_ms: int = 30_000) -> bool:
        """Block until every started task returned (True) or the timeout passed (False)."""
        return bool(self._pool.waitForDone(timeout_ms))

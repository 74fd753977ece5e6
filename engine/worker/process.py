"""Run a study analysis (or a relabelling of its levels) in a separate process, so a crash (or a
runaway model) cannot take the caller down with it: start, stream progress, cancel, get the
findings back.

The worker is a `multiprocessing` spawn-context process (no fork: safe beside Qt and threads). It
loads the study from its folder, opens the model and runs `engine.analysis.run_analysis` (or, for a
RelabelRequest, `engine.analysis.relabel_study` on the findings handed to it), sending JSON frames
on a one-way pipe (engine.worker.messages). When the process dies without a result
(killed, out of memory, a segfault in a native library), the caller's next poll raises
WorkerCrashedError; the worker object is then finished and a new one can be started. Nothing in
the caller depends on the worker's state.

Usage (e.g. from a Qt thread or a timer)::

    worker = AnalysisWorker(AnalysisRequest(study_dir="/data/study", model=None))
    worker.start()
    while not worker.finished:
        for event in worker.poll(timeout=0.1):
            show(event.fraction, event.message)
    findings = worker.result()      # or WorkerFailedError / WorkerCrashedError
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from engine.analysis.pipeline import AnalysisProgress
from engine.findings import StudyFindings
from engine.worker.messages import decode_message, encode_message, findings_frames, findings_from_frames

logger = logging.getLogger(__name__)

# After cancel(), the worker has this long to stop on its own before it is terminated (s).
CANCEL_GRACE_S = 10.0


@dataclass(frozen=True)
class AnalysisRequest:
    """What to analyse.

    study_dir: DICOM folder (or file) of the study. model: model pack folder or name, None for the
    default pack. device: 'auto', 'cpu' or 'cuda'. threads: ONNX Runtime threads (None = default).
    segmenter_factory: 'module:function' returning a StructureSegmenter from (model, device), for
    another backend than ONNX Runtime model packs (None = model packs).
    """

    study_dir: str
    model: str | None = None
    device: str = "auto"
    threads: int | None = None
    segmenter_factory: str | None = None


@dataclass(frozen=True)
class RelabelRequest:
    """Relabel the disc levels of earlier findings {old: new} and re-analyse the levels whose
    label enters the model's prompt (`engine.analysis.relabel_study`). The findings themselves
    go to `AnalysisWorker(request, findings=...)`; the other fields are as in AnalysisRequest.
    """

    study_dir: str
    mapping: tuple[tuple[str, str], ...]
    model: str | None = None
    device: str = "auto"
    threads: int | None = None
    segmenter_factory: str | None = None


WorkerRequest = AnalysisRequest | RelabelRequest


class WorkerCrashedError(RuntimeError):
    """The worker process ended without sending a result (killed, crashed, out of memory)."""

    def __init__(self, exitcode: int | None) -> None:
        how = (
            f"was killed by signal {-exitcode}"
            if exitcode is not None and exitcode < 0
            else f"exited with code {exitcode}"
        )
        super().__init__(f"the analysis process {how} before it finished; start the analysis again")
        self.exitcode = exitcode


class WorkerFailedError(RuntimeError):
    """The analysis failed with a reported reason; `kind` is one of messages.ERROR_KINDS."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class TimedStage:
    stage: str
    seconds: float


def _error_kind(exc: BaseException) -> str:
    from engine.analysis.errors import AnalysisCancelled, LevelsNotFoundError, MissingSeriesError
    from engine.runtime.model_pack import ModelPackError
    from engine.runtime.sessions import ProviderUnavailableError
    from engine.study.errors import NoDicomFoundError

    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (NoDicomFoundError, "no_dicom"),
        (MissingSeriesError, "missing_series"),
        (LevelsNotFoundError, "levels_not_found"),
        (ModelPackError, "model_pack_invalid"),
        (ProviderUnavailableError, "device_unavailable"),
        (AnalysisCancelled, "cancelled"),
    )
    return next((kind for cls, kind in kinds if isinstance(exc, cls)), "failure")


def _make_segmenter(request: WorkerRequest) -> Any:
    if request.segmenter_factory is None:
        from engine.segmentation import open_segmenter

        return open_segmenter(request.model, request.device, request.threads)
    module_name, _, attribute = request.segmenter_factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    return factory(request.model, request.device)


def _relabel(
    request: RelabelRequest, frames: tuple[dict[str, Any], bytes], cancel: Any, send: Callable[..., None]
) -> tuple[StudyFindings, list[dict[str, Any]]]:
    from engine.analysis import relabel_study
    from engine.study import load_study

    send({"type": "progress", "stage": "relabelling", "fraction": 0.0, "message": "loading the study"})
    study = load_study(request.study_dir, cancel=cancel)
    if cancel.is_set():
        raise _cancelled()
    findings = findings_from_frames(*frames)
    segmenter = _make_segmenter(request)
    send(
        {
            "type": "progress",
            "stage": "relabelling",
            "fraction": 0.5,
            "message": "re-analysing the relabelled levels",
        }
    )
    started = time.perf_counter()
    relabelled = relabel_study(study, findings, dict(request.mapping), model=segmenter)
    return relabelled, [{"stage": "relabelling", "seconds": time.perf_counter() - started}]


def _worker_main(
    connection: Connection,
    cancel: Any,
    request: WorkerRequest,
    frames: tuple[dict[str, Any], bytes] | None = None,
) -> None:
    """The worker process: analyse (or relabel `frames`, the findings as messages.findings_frames)
    and report on `connection` (JSON frames)."""
    from engine.analysis import run_analysis
    from engine.study import load_study

    def send(message: dict[str, Any]) -> None:
        connection.send_bytes(encode_message(message))

    def progress(event: AnalysisProgress) -> None:
        send({"type": "progress", "stage": event.stage, "fraction": event.fraction, "message": event.message})

    try:
        if isinstance(request, RelabelRequest):
            assert frames is not None
            findings, timings = _relabel(request, frames, cancel, send)
        else:
            send({"type": "progress", "stage": "loading", "fraction": 0.0, "message": "loading the study"})
            study = load_study(request.study_dir, cancel=cancel)
            if cancel.is_set():
                raise _cancelled()
            segmenter = _make_segmenter(request)
            result = run_analysis(study, segmenter, progress=progress, cancel=cancel.is_set)
            findings = result.findings
            timings = [{"stage": t.stage, "seconds": t.seconds} for t in result.timings]
        document, npz = findings_frames(findings)
        send({"type": "result", "findings": document, "timings": timings})
        connection.send_bytes(npz)
    except Exception as exc:  # every failure goes back to the caller as a message
        send({"type": "error", "kind": _error_kind(exc), "message": str(exc) or type(exc).__name__})
    finally:
        connection.close()


def _cancelled() -> Exception:
    from engine.analysis.errors import AnalysisCancelled

    return AnalysisCancelled("the analysis was cancelled")


class AnalysisWorker:
    """One analysis (or relabelling) in one worker process (see the module docstring). Not
    thread-safe: poll it from one thread; `cancel` may be called from any thread."""

    def __init__(self, request: WorkerRequest, findings: StudyFindings | None = None) -> None:
        """`findings`: the findings a RelabelRequest relabels (required for it, refused otherwise)."""
        if isinstance(request, RelabelRequest) != (findings is not None):
            raise ValueError("a RelabelRequest needs the findings to relabel; an AnalysisRequest takes none")
        self.request = request
        self._frames = None if findings is None else findings_frames(findings)
        self._context = multiprocessing.get_context("spawn")
        self._cancel = self._context.Event()
        self._process: Any = None
        self._reader: Connection | None = None
        self._findings: StudyFindings | None = None
        self._error: Exception | None = None
        self._pending_result: dict[str, Any] | None = None
        self.timings: tuple[TimedStage, ...] = ()
        self._cancel_requested_at: float | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def finished(self) -> bool:
        """True once a result or an error is known (the worker process is then gone or going)."""
        return self._findings is not None or self._error is not None

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("this worker was already started; create a new AnalysisWorker")
        reader, writer = self._context.Pipe(duplex=False)
        self._process = self._context.Process(
            target=_worker_main,
            args=(writer, self._cancel, self.request, self._frames),
            name="lss-analysis",
            daemon=True,
        )
        self._process.start()
        writer.close()  # the child holds the only writer: EOF here means it is gone
        self._reader = reader

    def cancel(self) -> None:
        """Ask the worker to stop; it is terminated if it has not stopped CANCEL_GRACE_S later."""
        self._cancel.set()
        if self._cancel_requested_at is None:
            self._cancel_requested_at = time.monotonic()

    def poll(self, timeout: float = 0.0) -> list[AnalysisProgress]:
        """Progress events received within `timeout` seconds (0: what is there now).

        Raises WorkerCrashedError once when the process died without a result.
        """
        if self._reader is None or self.finished:
            return []
        events: list[AnalysisProgress] = []
        deadline = time.monotonic() + timeout
        while not self.finished and self._reader is not None:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                if not self._reader.poll(remaining if not events else 0.0):
                    break
                frame = self._reader.recv_bytes()
            except (EOFError, OSError):
                crash = self._on_process_gone()
                raise crash from None
            self._receive(frame, events)
        self._enforce_cancel()
        return events

    def _receive(self, frame: bytes, events: list[AnalysisProgress]) -> None:
        if self._pending_result is not None:
            message, self._pending_result = self._pending_result, None
            try:
                self._findings = findings_from_frames(message["findings"], frame)
            except (ValueError, KeyError) as exc:
                self._error = WorkerFailedError("failure", f"the worker's result is unreadable: {exc}")
            self.timings = tuple(
                TimedStage(t["stage"], float(t["seconds"])) for t in message.get("timings", [])
            )
            self._finish()
            return
        message = decode_message(frame)
        if message["type"] == "progress":
            events.append(
                AnalysisProgress(str(message["stage"]), float(message["fraction"]), str(message["message"]))
            )
        elif message["type"] == "result":
            self._pending_result = message
        elif message["type"] == "error":
            self._error = WorkerFailedError(
                str(message.get("kind", "failure")), str(message.get("message", ""))
            )
            self._finish()

    def _on_process_gone(self) -> WorkerCrashedError:
        if self._process is not None:
            self._process.join(timeout=5.0)
        exitcode = None if self._process is None else self._process.exitcode
        logger.warning("analysis worker ended without a result (exit code %s)", exitcode)
        crash = WorkerCrashedError(exitcode)
        self._error = crash
        self._finish()
        return crash

    def _enforce_cancel(self) -> None:
        if (
            self._cancel_requested_at is not None
            and not self.finished
            and time.monotonic() - self._cancel_requested_at > CANCEL_GRACE_S
        ):
            self._terminate()
            self._error = WorkerFailedError("cancelled", "the analysis was cancelled")
            self._finish()

    def _finish(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._process is not None:
            self._process.join(timeout=5.0)
            if self._process.is_alive():
                self._terminate()

    def _terminate(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5.0)

    def kill(self) -> None:
        """End the worker process at once, from any thread (e.g. when the caller closes); the
        thread polling it then gets WorkerCrashedError."""
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    def result(self) -> StudyFindings:
        """The findings; raises the worker's error (WorkerFailedError / WorkerCrashedError), or
        RuntimeError while it is still running."""
        if self._findings is not None:
            return self._findings
        if self._error is not None:
            raise self._error
        raise RuntimeError("the analysis is still running")

    def wait(
        self, timeout: float | None = None, on_progress: Callable[[AnalysisProgress], None] | None = None
    ) -> StudyFindings:
        """Block until the result (or an error), passing progress events to `on_progress`.

        Raises TimeoutError after `timeout` seconds (the worker keeps running; cancel or close it).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.finished:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the analysis did not finish within {timeout} s")
            try:
                events = self.poll(timeout=0.2)
            except WorkerCrashedError:
                break
            for event in events:
                if on_progress is not None:
                    on_progress(event)
        return self.result()

    def close(self) -> None:
        """Stop the worker if it still runs (idempotent)."""
        if not self.finished:
            self._cancel.set()
            self._terminate()
            self._error = WorkerFailedError("cancelled", "the analysis was closed before it finished")
        self._finish()

    def __enter__(self) -> AnalysisWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

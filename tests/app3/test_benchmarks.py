"""Benchmark: the window's responsiveness while an analysis runs in the worker process, and the
analysis time in the app (Analyze to the findings on screen). Printed, not asserted (run with
`-m benchmark -s`).

A 10 ms QTimer probes the event loop: how late each tick arrives is how long a click or a key would
wait. Measured on an idle window (baseline), during the analysis, and for the one block the GUI
thread does itself: showing the findings (overlays, table, legend, report draft).

Models: the synthetic study's ground-truth segmenter kept busy computing (the CPU load of a
model's inference in the worker); with $LSS_BENCH_MODEL_PACK (a model pack folder, e.g. a trained
lss-default), also that pack on ONNX Runtime in the worker.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from app3_oracle import BUSY_ORACLE, ORACLE
from PySide6.QtCore import QObject, Qt, QTimer

pytestmark = [pytest.mark.benchmark, pytest.mark.gui]

PROBE_MS = 10
BASELINE_S = 3.0


class EventLoopProbe(QObject):
    """A precise QTimer every PROBE_MS; `lateness_ms` holds how late each tick came."""

    def __init__(self) -> None:
        super().__init__()
        self.lateness_ms: list[float] = []
        self.tick_times: list[float] = []
        self._last: float | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.lateness_ms.clear()
        self.tick_times.clear()
        self._last = None
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.lateness_ms.append(max(0.0, (now - self._last) * 1000.0 - PROBE_MS))
            self.tick_times.append(now)
        self._last = now


def stats(values_ms: list[float]) -> str:
    a = np.asarray(values_ms)
    return f"p50 {np.median(a):.1f} ms, p95 {np.percentile(a, 95):.1f} ms, max {a.max():.1f} ms (n={len(a)})"


def models() -> list[tuple[str, str | None]]:
    found = [("busy ground-truth segmenter", BUSY_ORACLE)]
    if os.environ.get("LSS_BENCH_MODEL_PACK"):
        found.append(("model pack " + os.path.basename(os.environ["LSS_BENCH_MODEL_PACK"].rstrip("/")), None))
    return found


@pytest.fixture(scope="module")
def full_size_study(tmp_path_factory):
    """A synthetic study at its drawn matrices (256-512), as the demo study is."""
    from engine.synthetic_study import write_study

    out = tmp_path_factory.mktemp("full-size")
    write_study(out, 900_303, "A,B,C,B,A", "angled")
    return out


@pytest.mark.parametrize(("name", "factory"), models(), ids=[m[0] for m in models()])
def test_event_loop_latency_during_an_analysis(app_window, qtbot, helpers, full_size_study, name, factory):
    model = str(full_size_study) if factory is not None else os.environ["LSS_BENCH_MODEL_PACK"]
    window = app_window(segmenter_factory=factory, analysis_model=model)
    with qtbot.waitSignal(window.study_opened, timeout=120_000):
        window.open_folder(full_size_study / "study")
    helpers.wait_idle(qtbot, window, 120_000)
    helpers.settle(qtbot, window)
    matrices = {
        (s.slices[0].geometry.rows, s.slices[0].geometry.columns) for s in window.session.study.series
    }

    probe = EventLoopProbe()
    probe.start()
    qtbot.wait(int(BASELINE_S * 1000))
    probe.stop()
    baseline = list(probe.lateness_ms)

    shown: list[tuple[float, float]] = []  # (when, how long) the GUI thread showed the findings
    set_findings = window.session.set_findings

    def timed_set_findings(findings):
        started = time.perf_counter()
        set_findings(findings)
        shown.append((started, time.perf_counter() - started))

    window.session.set_findings = timed_set_findings
    probe.start()
    started = time.perf_counter()
    with qtbot.waitSignal(window.analysis_finished, timeout=600_000):
        window.analyze()
    in_app_s = time.perf_counter() - started
    qtbot.wait(100)  # the tick delayed by showing the findings arrives
    probe.stop()
    job_s = window.last_analysis_s
    window.session.set_findings = set_findings
    # Ticks before the findings reached the GUI thread: the analysis running in the worker.
    during = [lat for lat, t in zip(probe.lateness_ms, probe.tick_times, strict=True) if t < shown[0][0]]
    assert window.session.findings is not None and window.session.findings.findings
    provenance = window.session.findings.provenance
    print(
        f"\n[analysis in the app, {name} ({provenance.model_name} {provenance.model_version}), "
        f"synthetic study, matrices {sorted(matrices)}] Analyze -> findings on screen: {in_app_s:.2f} s "
        f"(worker start to result {job_s:.2f} s)"
    )
    print(
        f"[event loop, idle window, {BASELINE_S:.0f} s] lateness of a {PROBE_MS} ms timer: {stats(baseline)}"
    )
    print(f"[event loop, during the analysis] lateness: {stats(during)}")
    print(f"[event loop, whole run incl. showing the findings] lateness: {stats(probe.lateness_ms)}")
    print(
        f"[GUI thread] showing the findings (overlays, table, legend, report draft): {shown[0][1] * 1000:.0f} ms"
    )


def test_analysis_time_of_the_ground_truth_segmenter_in_the_app(analysed, qtbot):
    """The app's own overhead: the worker process start, the study load in the worker, the
    result's transfer and showing it, with a segmenter that costs nothing."""
    window = analysed(segmenter_factory=ORACLE)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
            window.analyze()
        timings.append(time.perf_counter() - started)
    print(
        f"\n[analysis in the app, ground-truth segmenter, 128-px synthetic study] Analyze -> findings on "
        f"screen: {', '.join(f'{t:.2f}' for t in timings)} s"
    )

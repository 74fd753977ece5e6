"""Viewer benchmarks (not part of the default run; they print numbers and assert no timings):
open-to-first-image time, scroll frames per second at 512x512 under Xvfb, and peak memory with
a study open. Each runs in a fresh process so the memory numbers are the app's own.

    xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest -p no:xvfb -m benchmark -s tests/app
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_BENCHMARK = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
work, mode = Path(sys.argv[2]), sys.argv[3]
import conftest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0

app = QApplication([])
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.main_window import MainWindow
from lss_desktop.study_sources import load_study_with_engine
from lss_desktop.theme import apply_dark_theme
apply_dark_theme(app)
results = {}

def wait(predicate, timeout=300.0):
    deadline = time.perf_counter() + timeout
    while not predicate() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)

def new_window(loader):
    window = MainWindow(study_loader=loader, show_dialogs=False)
    window.resize(1280, 900)
    window.show()
    for _ in range(5):
        app.processEvents()
    return window

def open_and_time(loader, folder, repeats=3):
    times = []
    for _ in range(repeats):
        window = new_window(loader)
        window.open_folder(folder)
        wait(lambda: window.open_to_first_image_s is not None)
        times.append(round(window.open_to_first_image_s, 3))
        wait(lambda: window.runner.running_count == 0)
        window.close()
        window.deleteLater()
        app.processEvents()
    return times

study = conftest.make_study(matrix=512, axial_matrix=512, axial_gap_mm=5.0, angled_axial=False)
folder = work / "dicom"
if mode == "open":
    # From the open request to the first slice on screen: an in-memory study through a loader
    # (the app's own share), and a DICOM folder on disk read by engine.study.load_study.
    memory_loader = conftest.FakeStudyLoader({work / "memory": study}, steps=1)
    results["open_to_first_image_in_memory_s"] = open_and_time(memory_loader, work / "memory")
    conftest.write_dicom_study(study, folder)
    results["dicom_files"] = len(list(folder.glob("*.dcm")))
    results["dicom_megabytes"] = round(sum(p.stat().st_size for p in folder.glob("*.dcm")) / 1e6, 1)
    results["open_to_first_image_dicom_engine_loader_s"] = open_and_time(load_study_with_engine, folder)
else:
    baseline_rss = rss_mb()
    window = new_window(load_study_with_engine)
    results["rss_app_started_no_study_mb"] = round(rss_mb(), 1)
    window.open_folder(folder)
    wait(lambda: window.session.study is not None and window.views_ready() and window.runner.running_count == 0)
    session = window.session
    view = window.panels[ViewSlot.MIDDLE].view
    series = session.series_in(ViewSlot.MIDDLE)
    if mode == "memory":
        results["series_open"] = [f"{s.description}: {len(s)} x {s.slices[0].geometry.rows}x{s.slices[0].geometry.columns}" for s in session.study.series]
        results["pixel_cache_mb"] = round(session.pixels.size_bytes / 2**20, 1)
        results["rss_study_open_and_shown_series_decoded_mb"] = round(rss_mb(), 1)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    else:
        results["scroll_series"] = f"{len(series)} axial slices of {series.slices[0].geometry.rows}x{series.slices[0].geometry.columns}"
        results["view_device_pixels"] = list(view.GetRenderWindow().GetSize())

        def scroll_fps(frames):
            # The active view alone: scroll one step and render it, as fast as possible.
            session.set_slice(ViewSlot.MIDDLE, 0)
            view.render_now()
            start = time.perf_counter()
            direction = 1
            for _ in range(frames):
                index = session.view(ViewSlot.MIDDLE).slice_index
                if index in (0, len(series) - 1):
                    direction = 1 if index == 0 else -1
                session.scroll(ViewSlot.MIDDLE, direction)
                view.render_now()
            return round(frames / (time.perf_counter() - start), 1)

        scroll_fps(10)
        results["scroll_fps_active_view_render_loop"] = scroll_fps(200)

        rendered = []
        view.image_rendered.connect(lambda uid, index: rendered.append(time.perf_counter()))
        centre = QPointF(view.width() / 2, view.height() / 2)

        def wheel_fps(seconds):
            # Through Qt: wheel events as fast as the event loop takes them; both views render on
            # request (the sagittal redraws the moving cross-reference line).
            rendered.clear()
            session.set_slice(ViewSlot.MIDDLE, 0)
            direction = -1
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                index = session.view(ViewSlot.MIDDLE).slice_index
                if index in (0, len(series) - 1):
                    direction = -1 if index == 0 else 1
                event = QWheelEvent(centre, QPointF(view.mapToGlobal(centre)), QPoint(0, 0),
                                    QPoint(0, 120 * direction), Qt.MouseButton.NoButton,
                                    Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
                QApplication.sendEvent(view, event)
                app.processEvents()
            return round(len(rendered) / (time.perf_counter() - start), 1)

        results["scroll_fps_wheel_events_linked_views"] = wheel_fps(4.0)
    window.close()
print(json.dumps(results))
"""


@pytest.mark.benchmark
@pytest.mark.gui
def test_viewer_benchmarks(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results: dict[str, object] = {}
    for mode in ("open", "scroll", "memory"):  # a fresh process each, the DICOM folder shared
        out = subprocess.run(
            [sys.executable, "-c", _BENCHMARK, str(Path(__file__).parent), str(tmp_path), mode],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        results.update(json.loads(out.stdout.strip().splitlines()[-1]))
    print("\nLSS Desktop viewer benchmarks (this machine, Xvfb, Mesa llvmpipe):")
    for key, value in results.items():
        if isinstance(value, list) and value and isinstance(value[0], float):
            value = f"median {sorted(value)[len(value) // 2]:.3f} s of {[round(v, 3) for v in value]}"
        print(f"  {key}: {value}")

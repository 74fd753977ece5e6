"""`lss-desktop STUDY_DIR --screenshot FILE`, argument errors, and clicks on a HiDPI screen (a
second process with QT_SCALE_FACTOR=2). `--analyze` is tested in tests/app3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from engine.cli.exit_codes import ExitCode
from lss_desktop import app as desktop_app
from lss_desktop.recent_studies import MemoryRecentStudies

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.gui


def _lightness_grid(image: QImage, x0: int, x1: int, y0: int, y1: int, step: int = 6) -> np.ndarray:
    return np.array(
        [image.pixelColor(x, y).lightness() for x in range(x0, x1, step) for y in range(y0, y1, step)], float
    )


def test_screenshot_of_a_dicom_study_written_with_pydicom(qapp, lumbar, tmp_path, screenshot_dir, capsys):
    folder = lumbar.write_dicom_study(lumbar.make_study(matrix=48, sagittal_t1=True), tmp_path / "study")
    out = screenshot_dir / "lss-desktop-screenshot.png"
    # The real engine loader reads the folder: nothing injected but the throw-away worklist.
    code = desktop_app.main([str(folder), "--screenshot", str(out)], recent_studies=MemoryRecentStudies())
    assert code == ExitCode.OK, capsys.readouterr().err
    assert f"screenshot saved to {out}" in capsys.readouterr().out
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 700
    # Three image panes across the right three quarters of the window, none of them blank.
    width, height = image.width(), image.height()
    left = width // 4
    pane = (width - left) // 3
    for i in range(3):
        values = _lightness_grid(
            image, left + i * pane + 20, left + (i + 1) * pane - 20, height // 4, 3 * height // 4
        )
        assert values.std() > 15.0, f"pane {i} looks blank"


def test_screenshot_exits_with_the_load_error_code(qapp, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    code = desktop_app.main(
        [str(empty), "--screenshot", str(tmp_path / "x.png")], recent_studies=MemoryRecentStudies()
    )
    assert code == ExitCode.NO_DICOM
    assert f"No readable DICOM images were found in {empty}" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_argument_errors_name_the_problem(tmp_path, capsys):
    assert desktop_app.main([str(tmp_path / "missing")]) == ExitCode.INPUT_INVALID
    assert "missing is not a folder" in capsys.readouterr().err
    assert desktop_app.main(["--screenshot", str(tmp_path / "x.png")]) == ExitCode.USAGE


def test_help_runs_without_a_display():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    out = subprocess.run(
        [sys.executable, "-m", "lss_desktop.app", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "--screenshot FILE" in out.stdout and "Research use only" in out.stdout


_HIDPI_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import conftest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
app = QApplication([])
from engine.study.cross_reference import nearest_slice_index
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.main_window import MainWindow
window = MainWindow(show_dialogs=False)
window.resize(1000, 700)
window.show()
window.open_study(conftest.make_study(matrix=64))
deadline = __import__("time").time() + 30
while (window.runner.running_count or not window.views_ready()) and __import__("time").time() < deadline:
    app.processEvents()
session = window.session
view = window.panels[ViewSlot.LEFT].view
axial = session.series_in(ViewSlot.MIDDLE)
sagittal = session.current_geometry(ViewSlot.LEFT)
results = []
for target_index in (2, 9, 17):
    target = axial.slices[target_index].geometry
    row, col, _ = sagittal.lps_to_pixel(target.pixel_to_lps(target.rows / 2, target.columns / 2))
    pos = view.image_to_widget(row, col)
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
        QApplication.sendEvent(view, QMouseEvent(kind, pos, view.mapToGlobal(pos), Qt.MouseButton.LeftButton,
                               Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    results.append([target_index, session.view(ViewSlot.MIDDLE).slice_index])
shot = view.capture_rgb()
print(json.dumps({"dpr": view.devicePixelRatioF(), "widget": [view.width(), view.height()],
                  "render_window": list(view.GetRenderWindow().GetSize()), "capture": list(shot.shape[:2]),
                  "clicks": results}))
window.close()
"""


def test_clicks_land_on_the_right_pixel_on_a_hidpi_screen(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_SCALE_FACTOR": "2"}
    out = subprocess.run(
        [sys.executable, "-c", _HIDPI_PROBE, str(Path(__file__).parent)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dpr"] == 2.0
    width, height = result["widget"]
    assert result["render_window"] == [2 * width, 2 * height]  # the GL surface has device pixels
    assert result["capture"] == [2 * height, 2 * width]
    for target, chosen in result["clicks"]:
        assert chosen == target

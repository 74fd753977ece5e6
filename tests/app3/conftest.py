"""Fixtures of the analysis workflow tests in the real window: a synthetic lumbar study written by
engine.synthetic_study (test seeds 900000+, small matrices), analysed by the engine's worker
process with the study's ground-truth segmenter (app3_oracle, importable by name in the spawned
worker), a reading database, and a window factory wired to them.

The tiny model pack (an untrained lss-vit-tiny, for the ONNX Runtime paths) is exported in a
separate process, so torch never enters this process, which renders with OpenGL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))  # app3_oracle, for the window and its spawned workers

from app3_oracle import ORACLE  # noqa: E402

TEST_SEED = 900_300
GRADES = "A,A,B,C,A"
PERSON = "Dr Ada Lovelace"


@pytest.fixture(scope="session")
def synthetic_study(tmp_path_factory) -> tuple[Path, object]:
    """(OUT folder: OUT/study holds the DICOM files, OUT/ground_truth the truth; GroundTruth),
    angled axial T2, 128-pixel matrices, written once per session."""
    from engine.synthetic_study import write_study

    out = tmp_path_factory.mktemp("synthetic")
    truth = write_study(out, TEST_SEED, GRADES, "angled", max_matrix=128)
    return out, truth


@pytest.fixture(scope="session")
def tiny_pack(tmp_path_factory) -> Path:
    """An untrained lss-vit-tiny model pack (ONNX), exported in its own process (~30 s)."""
    root = tmp_path_factory.mktemp("tiny-pack")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(HERE / "export_tiny_pack.py"), str(root)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where tests save window screenshots: $LSS_APP_SCREENSHOT_DIR to keep them, else tmp_path."""
    kept = os.environ.get("LSS_APP_SCREENSHOT_DIR")
    folder = Path(kept) if kept else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def app_window(qtbot, qapp, tmp_path, synthetic_study) -> Iterator[Callable[..., object]]:
    """Factory for a MainWindow with a reading database and data folder in tmp_path, analysing with
    the ground-truth oracle of `synthetic_study` (segmenter_factory=... to change it). On teardown
    each window is closed (saving what is unsaved) and checked to have left no subscriber."""
    from engine.storage.report_store import ReportStore
    from lss_desktop.app_settings import AppSettings
    from lss_desktop.main_window import MainWindow
    from lss_desktop.recent_studies import StoreRecentStudies
    from lss_desktop.theme import apply_dark_theme

    apply_dark_theme(qapp)
    out, _truth = synthetic_study
    windows: list[MainWindow] = []
    stores: list[ReportStore] = []

    def create(**kwargs) -> MainWindow:
        data_dir = tmp_path / f"data{len(windows)}"
        data_dir.mkdir(parents=True, exist_ok=True)
        store = ReportStore(data_dir / "lss-desktop.sqlite3")
        stores.append(store)
        settings = AppSettings(user_name=PERSON, institution="St Elsewhere Hospital")
        opened: list[Path] = []
        kwargs.setdefault("segmenter_factory", ORACLE)
        kwargs.setdefault("analysis_model", str(out))
        kwargs.setdefault("show_dialogs", True)
        window = MainWindow(
            store=store,
            data_dir=data_dir,
            settings=settings,
            recent_studies=StoreRecentStudies(store, lambda: PERSON),
            open_location=opened.append,
            **kwargs,
        )
        window.opened_locations = opened
        window.resize(1280, 900)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        windows.append(window)
        return window

    yield create
    from PySide6.QtCore import QCoreApplication, QEvent

    for window in windows:
        window.show_dialogs = False
        window.close()
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        emitters = (
            *window.session.events.all(),
            *window.mask_editor.events.all(),
            *window.report.events.all(),
        )
        leaked = {e.name: e.subscriber_count for e in emitters if e.subscriber_count}
        assert leaked == {}, f"subscribers left after close: {leaked}"
        assert window.analysis_job is None
    for store in stores:
        store.close()


def settle(qtbot, window, ms: int = 60) -> None:
    qtbot.wait(ms)
    for view in window.slice_views():
        view.render_now()


def wait_idle(qtbot, window, timeout: int = 60_000) -> None:
    qtbot.waitUntil(
        lambda: window.views_ready() and window.runner.running_count == 0 and not window.is_analysing,
        timeout=timeout,
    )


@pytest.fixture
def opened_study(app_window, qtbot, synthetic_study):
    """A window with the synthetic study opened from its DICOM folder by the engine's loader."""

    def open_with(**kwargs):
        out, _ = synthetic_study
        window = app_window(**kwargs)
        with qtbot.waitSignal(window.study_opened, timeout=60_000):
            window.open_folder(out / "study")
        wait_idle(qtbot, window)
        return window

    return open_with


@pytest.fixture
def analysed(opened_study, qtbot):
    """A window showing the synthetic study analysed by the worker process (oracle)."""

    def analyse(**kwargs):
        window = opened_study(**kwargs)
        with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
            window.analyze()
        wait_idle(qtbot, window)
        settle(qtbot, window)
        return window

    return analyse


def send_mouse(view, kind: str, pos, button=None) -> None:
    """Deliver one mouse event (press, move, release) at widget position `pos` to `view`."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    button = Qt.MouseButton.LeftButton if button is None else button
    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    held = Qt.MouseButton.NoButton if kind == "release" else button
    event = QMouseEvent(
        types[kind],
        QPointF(pos),
        QPointF(view.mapToGlobal(QPointF(pos))),
        Qt.MouseButton.NoButton if kind == "move" else button,
        held,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view, event)


def drag(view, points) -> None:
    """A left-button drag through widget positions: press at the first, moves, release at the last."""
    send_mouse(view, "press", points[0])
    for point in points[1:]:
        send_mouse(view, "move", point)
    send_mouse(view, "release", points[-1])


def is_colour(pixel: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 60) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.asarray(rgb)) <= tolerance))


@pytest.fixture
def helpers():
    import types

    return types.SimpleNamespace(
        settle=settle, wait_idle=wait_idle, is_colour=is_colour, send_mouse=send_mouse, drag=drag
    )

"""The main window: menus, toolbar, intended-use banner, the hanging-protocol views, the series
browser, overlay legend and worklist docks, and the background work of opening a study."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenuBar,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import engine
from engine.cli.exit_codes import ExitCode
from engine.study.model import Series, Study
from lss_desktop.background import BackgroundTask, TaskContext, TaskRunner
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.load_report_dialog import LoadReportDialog, load_report_summary
from lss_desktop.overlay_panel import OverlayPanel
from lss_desktop.recent_studies import MemoryRecentStudies, RecentStudies, RecentStudy
from lss_desktop.series_browser import SeriesBrowser
from lss_desktop.session import ViewChange, ViewerSession
from lss_desktop.slice_view import SliceView
from lss_desktop.study_sources import (
    ComponentUnavailableError,
    StudyLoader,
    is_no_dicom_found,
    load_study_with_engine,
    write_demo_study,
)
from lss_desktop.thumbnails import series_thumbnail
from lss_desktop.view_panel import ViewPanel
from lss_desktop.window_capture import capture_window
from lss_desktop.windowing import SPINE_PRESETS
from lss_desktop.worklist_panel import WorklistPanel

logger = logging.getLogger(__name__)

DEMO_SEED = 0


class MainWindow(QMainWindow):
    study_opened = Signal(object)  # Study
    study_open_failed = Signal(str, int)  # message, ExitCode
    first_image_shown = Signal(float)  # seconds from the open request to the first image on screen

    def __init__(
        self,
        session: ViewerSession | None = None,
        *,
        study_loader: StudyLoader = load_study_with_engine,
        recent_studies: RecentStudies | None = None,
        show_dialogs: bool = True,
        demo_folder: Path | None = None,
    ) -> None:
        super().__init__()
        self.session = session if session is not None else ViewerSession()
        self.study_loader = study_loader
        self.recent_studies = recent_studies if recent_studies is not None else MemoryRecentStudies()
        self.show_dialogs = show_dialogs
        self.demo_folder = demo_folder
        self.runner = TaskRunner(self)
        self.active_slot = ViewSlot.LEFT
        self.last_message: QMessageBox | None = None
        self.load_report_dialog: LoadReportDialog | None = None
        self.open_to_first_image_s: float | None = None
        self._closed = False
        self._load_task: BackgroundTask | None = None
        self._study_tasks: list[BackgroundTask] = []
        self._prefetched: set[str] = set()
        self._open_started: float | None = None

        self.setWindowTitle("LSS Desktop")
        screen = QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        self.resize(
            min(1500, available.width()) if available else 1500,
            min(950, available.height()) if available else 950,
        )
        self._build_views()
        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        for emitter, callback in self._subscriptions():
            emitter.connect(callback)
        self._update_title()

    # ---- construction --------------------------------------------------------------------

    def _build_views(self) -> None:
        self.banner = QLabel(engine.INTENDED_USE)
        self.banner.setObjectName("intendedUseBanner")
        self.banner.setWordWrap(True)
        self.banner_version = QLabel(f"LSS Desktop {engine.__version__}  ·  Model: none active")
        self.banner_version.setObjectName("intendedUseBanner")
        banner_strip = QWidget()
        banner_layout = QHBoxLayout(banner_strip)
        banner_layout.setContentsMargins(0, 0, 0, 0)
        banner_layout.setSpacing(0)
        banner_layout.addWidget(self.banner, 1)
        banner_layout.addWidget(self.banner_version)
        # Above toolbars and docks, across the whole window: the intended use is always in sight.
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(0)
        self.menu_bar = QMenuBar()
        top_layout.addWidget(self.menu_bar)
        top_layout.addWidget(banner_strip)
        self.setMenuWidget(top)
        self.panels: dict[ViewSlot, ViewPanel] = {}
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(2)
        for slot in ViewSlot:
            panel = ViewPanel(self.session, slot)
            panel.view.activated.connect(self._on_view_activated)
            panel.view.image_rendered.connect(self._on_image_rendered)
            self.panels[slot] = panel
            self.splitter.addWidget(panel)
        self.panels[ViewSlot.RIGHT].hide()
        self.panels[ViewSlot.LEFT].set_active(True)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.series_browser = SeriesBrowser(self.session)
        self.series_browser.series_activated.connect(
            lambda key: self.session.show_series(self.active_slot, key)
        )
        self.worklist = WorklistPanel(self.recent_studies)
        self.worklist.open_requested.connect(lambda folder: self.open_folder(Path(folder)))
        self.overlay_panel = OverlayPanel(self.session)
        self.series_dock = self._dock(
            "Series", "seriesDock", self.series_browser, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.worklist_dock = self._dock(
            "Recent studies", "worklistDock", self.worklist, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.overlay_dock = self._dock(
            "Overlays", "overlayDock", self.overlay_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.tabifyDockWidget(self.series_dock, self.worklist_dock)
        self.series_dock.raise_()
        self.resizeDocks([self.series_dock], [270], Qt.Orientation.Horizontal)
        self.resizeDocks([self.series_dock, self.overlay_dock], [560, 260], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.progress_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(220)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.version_label = QLabel(
            f"LSS Desktop {engine.__version__} · Model: none active · Not for diagnosis without review"
        )
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            status.addPermanentWidget(widget)
            widget.hide()
        status.addPermanentWidget(self.version_label)

    def _build_actions(self) -> None:
        menu = self.menu_bar
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)

        file_menu = menu.addMenu("&File")
        self.open_action = file_menu.addAction("&Open folder…", self.open_folder_dialog)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.close_study_action = file_menu.addAction("&Close study", self.close_study)
        file_menu.addAction("Show &load report", self.show_load_report)
        file_menu.addSeparator()
        file_menu.addAction("Save &screenshot…", self.save_screenshot_dialog)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        view_menu = menu.addMenu("&View")
        window_menu = view_menu.addMenu("&Window preset (active view)")
        for preset in SPINE_PRESETS:
            window_menu.addAction(
                preset.name, lambda name=preset.name: self.session.apply_window_preset(self.active_slot, name)
            )
        auto_action = view_menu.addAction(
            "&Auto window (active view)", lambda: self.session.auto_window(self.active_slot)
        )
        reset_action = view_menu.addAction("&Reset all views", self.reset_views)
        view_menu.addSeparator()
        self.anonymise_action = QAction("A&nonymise", self, checkable=True)
        self.anonymise_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.anonymise_action.setToolTip("Hide patient name, ID and birth date on screen")
        self.anonymise_action.toggled.connect(self.session.set_anonymised)
        view_menu.addAction(self.anonymise_action)
        self.third_view_action = QAction("&Third view", self, checkable=True)
        self.third_view_action.toggled.connect(self._set_third_view_visible)
        view_menu.addAction(self.third_view_action)
        view_menu.addSeparator()
        for dock in (self.series_dock, self.worklist_dock, self.overlay_dock):
            view_menu.addAction(dock.toggleViewAction())

        help_menu = menu.addMenu("&Help")
        self.demo_action = help_menu.addAction("Open &demo study", self.open_demo_study)
        help_menu.addAction("&About LSS Desktop", self.show_about)

        toolbar.addAction(self.open_action)
        toolbar.addAction(self.demo_action)
        toolbar.addSeparator()
        toolbar.addAction(auto_action)
        auto_action.setText("Auto W/L")
        toolbar.addAction(reset_action)
        reset_action.setText("Reset views")
        toolbar.addSeparator()
        toolbar.addAction(self.anonymise_action)
        toolbar.addAction(self.third_view_action)

    def _subscriptions(self) -> tuple:
        events = self.session.events
        return (
            (events.study_changed, self._on_study_changed),
            (events.view_changed, self._on_view_changed),
        )

    # ---- opening studies -----------------------------------------------------------------

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a DICOM study folder")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> BackgroundTask:
        """Load a DICOM folder in the background with progress and cancel; the current study
        stays on screen until the new one is ready."""
        self.cancel_loading()
        folder = Path(folder)
        loader = self.study_loader
        self._open_started = time.perf_counter()

        def load(context: TaskContext) -> Study:
            return loader(folder, progress=context.report_progress, cancel=context.cancel)

        task = self.runner.start(
            "load study",
            load,
            on_success=lambda study: self._on_study_loaded(task, folder, study),
            on_failure=lambda error: self._on_study_load_failed(task, folder, error),
            on_progress=self._on_load_progress,
        )
        self._load_task = task
        self._show_progress(f"Opening {folder.name}…")
        return task

    def cancel_loading(self) -> None:
        if self._load_task is not None:
            self._load_task.cancel()
            self._load_task = None
            self._hide_progress()
            self.statusBar().showMessage("Opening cancelled", 5000)

    @property
    def is_loading(self) -> bool:
        return self._load_task is not None

    def _show_progress(self, text: str) -> None:
        self.progress_label.setText(text)
        self.progress_bar.setRange(0, 0)
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.show()

    def _hide_progress(self) -> None:
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.hide()

    def _on_load_progress(self, done: int, total: int) -> None:
        if self._load_task is not None and total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            self.progress_bar.setFormat(f"{done} / {total} files")

    def _on_study_loaded(self, task: BackgroundTask, folder: Path, study: Study) -> None:
        if task is not self._load_task:
            return  # cancelled or superseded: its result is dropped
        self._load_task = None
        self._hide_progress()
        if study.load_report.cancelled:
            self.statusBar().showMessage("Opening cancelled", 5000)
            return
        self.open_study(study, folder)

    def _on_study_load_failed(self, task: BackgroundTask, folder: Path, error: Exception) -> None:
        if task is not self._load_task:
            return
        self._load_task = None
        self._hide_progress()
        if is_no_dicom_found(error):
            title, code = "No DICOM images found", ExitCode.NO_DICOM
            message = f"No readable DICOM images were found in {folder}.\n\n{error}"
        elif isinstance(error, ComponentUnavailableError):
            title, code = "Not available", ExitCode.FAILURE
            message = str(error)
        else:
            title, code = "Could not open study", ExitCode.INPUT_INVALID
            message = f"The study in {folder} could not be opened:\n{error}"
        logger.warning("opening a study failed: %s", type(error).__name__)
        self.show_message(title, message, QMessageBox.Icon.Warning)
        self.study_open_failed.emit(message, int(code))

    def open_study(self, study: Study, folder: Path | None = None) -> None:
        """Show an already loaded study (from the loader, or built in memory)."""
        if self._open_started is None:
            self._open_started = time.perf_counter()
        self.session.set_study(study)
        if folder is not None:
            self.recent_studies.remember(RecentStudy.from_study(study, Path(folder)))
            self.worklist.refresh()
        self.statusBar().showMessage(load_report_summary(study), 10000)
        if self.show_dialogs and (study.load_report.issues or study.set_aside):
            self.show_load_report()
        self.study_opened.emit(study)

    def close_study(self) -> None:
        self._cancel_study_tasks()
        self.session.set_study(None)

    def open_demo_study(self) -> None:
        """Write the synthetic demo study (off the GUI thread) into the user's data folder and open it."""
        folder = (
            self.demo_folder
            or Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation))
            / f"demo-study-seed{DEMO_SEED}"
        )

        def write(_context: TaskContext) -> Path:
            return write_demo_study(folder, DEMO_SEED)

        def failed(error: Exception) -> None:
            self._hide_progress()
            self.show_message(
                "Demo study", f"The demo study could not be created:\n{error}", QMessageBox.Icon.Warning
            )

        def written(path: Path) -> None:
            self._hide_progress()
            self.open_folder(path)

        self._show_progress("Writing the demo study…")
        self.runner.start("write demo study", write, on_success=written, on_failure=failed)

    def show_load_report(self) -> None:
        study = self.session.study
        if study is None:
            return
        if self.load_report_dialog is not None:
            self.load_report_dialog.close()
        self.load_report_dialog = LoadReportDialog(study, self)
        self.load_report_dialog.show()

    # ---- background work for the open study ----------------------------------------------

    def _cancel_study_tasks(self) -> None:
        for task in self._study_tasks:
            task.cancel()
        self._study_tasks.clear()
        self._prefetched.clear()

    def _on_study_changed(self, study: Study | None) -> None:
        self._cancel_study_tasks()
        self.third_view_action.setChecked(self.session.series_in(ViewSlot.RIGHT) is not None)
        self._update_title()
        if study is None:
            return
        for series in study.series:
            self._start_thumbnail(study, series)

    def _start_thumbnail(self, study: Study, series: Series) -> None:
        cache = self.session.pixels

        def make(context: TaskContext) -> np.ndarray | None:
            return None if context.cancel.is_set() else series_thumbnail(series, cache)

        def done(pixels: np.ndarray | None) -> None:
            if pixels is not None and self.session.study is study:
                self.series_browser.set_thumbnail(series.key, pixels)

        def failed(error: Exception) -> None:
            logger.warning("no thumbnail for a series: %s", error)

        self._study_tasks.append(self.runner.start("thumbnail", make, on_success=done, on_failure=failed))

    def _on_view_changed(self, slot: ViewSlot, change: ViewChange) -> None:
        if change is not ViewChange.SERIES:
            return
        series = self.session.series_in(slot)
        if slot is ViewSlot.RIGHT and series is not None:
            self.third_view_action.setChecked(True)
        if series is None or series.key in self._prefetched:
            return
        self._prefetched.add(series.key)
        cache = self.session.pixels

        def prefetch(context: TaskContext) -> int:
            """Decode every slice ahead of scrolling; returns how many could not be decoded."""
            undecodable = 0
            for index in range(len(series)):
                if context.cancel.is_set():
                    break
                try:
                    cache.pixels(series, index)
                except Exception:  # the view shows why when the user reaches that slice
                    undecodable += 1
            return undecodable

        def done(undecodable: int) -> None:
            if undecodable:
                logger.warning("%d slices of a series could not be decoded", undecodable)

        self._study_tasks.append(self.runner.start("prefetch", prefetch, on_success=done))

    def _on_image_rendered(self, _series_key: str, _index: int) -> None:
        if self._open_started is not None and self.session.study is not None:
            self.open_to_first_image_s = time.perf_counter() - self._open_started
            self._open_started = None
            logger.info("first image on screen %.3f s after the open request", self.open_to_first_image_s)
            self.first_image_shown.emit(self.open_to_first_image_s)

    # ---- views ---------------------------------------------------------------------------

    def _on_view_activated(self, slot: ViewSlot) -> None:
        self.active_slot = slot
        for other, panel in self.panels.items():
            panel.set_active(other is slot)

    def _set_third_view_visible(self, visible: bool) -> None:
        self.panels[ViewSlot.RIGHT].setVisible(visible)
        if not visible:
            if self.session.series_in(ViewSlot.RIGHT) is not None:
                self.session.show_series(ViewSlot.RIGHT, None)
            if self.active_slot is ViewSlot.RIGHT:
                self._on_view_activated(ViewSlot.LEFT)
        self.splitter.setSizes([1000] * len(ViewSlot))

    def reset_views(self) -> None:
        for panel in self.panels.values():
            if panel.isVisible():
                panel.view.reset_view()

    def slice_views(self) -> list[SliceView]:
        return [panel.view for panel in self.panels.values()]

    def views_ready(self) -> bool:
        """True when every visible view with a series has its current slice on screen."""
        for slot, panel in self.panels.items():
            series = self.session.series_in(slot)
            if not panel.isVisible() or series is None:
                continue
            if panel.view.shown_key != (series.key, self.session.view(slot).slice_index):
                return False
        return True

    # ---- messages, screenshots, title ----------------------------------------------------

    def show_message(
        self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Information
    ) -> None:
        """A non-blocking message box (kept as `last_message`); logged when dialogs are off."""
        logger.info("%s: %s", title, text.splitlines()[0] if text else "")
        if not self.show_dialogs:
            return
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.last_message = box

    def show_about(self) -> None:
        self.show_message(
            "About LSS Desktop",
            f"LSS Desktop {engine.__version__}\n\n{engine.INTENDED_USE}\n\nModel: none active.",
        )

    def save_screenshot(self, path: Path) -> Path:
        """Save the whole window (VTK panes included) as an image; the format follows the suffix."""
        path = Path(path)
        image = capture_window(self)
        if not image.save(str(path)):
            raise OSError(f"could not write the screenshot {path}")
        return path

    def save_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save screenshot", "lss-desktop.png", "PNG images (*.png)"
        )
        if path:
            self.save_screenshot(Path(path))

    def _update_title(self) -> None:
        # Patient identifiers never go in the title: it shows in task bars and screen shares.
        study = self.session.study
        if study is None:
            self.setWindowTitle("LSS Desktop")
        else:
            date = study.study_date
            shown = f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 else date
            self.setWindowTitle(f"LSS Desktop — {study.description or 'study'} {shown}".rstrip())

    # ---- lifetime ------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop background work, unsubscribe and finalize every VTK view; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.runner.cancel_all()
        self._load_task = None
        self.runner.wait_for_all(10_000)
        for emitter, callback in self._subscriptions():
            emitter.disconnect(callback)
        for panel in self.panels.values():
            panel.close_panel()
        self.series_browser.close_browser()
        self.overlay_panel.close_panel()
        if self.load_report_dialog is not None:
            self.load_report_dialog.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

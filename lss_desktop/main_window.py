"""The main window: menus, toolbar, intended-use banner, the hanging-protocol views, the series
browser, overlay legend, mask editing, worklist, analysis (per-level table and prompt box) and
report docks; the background work of opening a study, analysing it in the engine's worker process,
relabelling its levels after a label drag, segmenting text prompts and exporting its report;
autosave, the prompt for unsaved work and the offer to restore a draft after a crash."""

from __future__ import annotations

import getpass
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QStandardPaths, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
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
from engine.findings import SchizasGrade, SliceMask, StudyFindings
from engine.findings_io import FindingsFormatError, load_findings, save_findings
from engine.measurements.after_mask_edit import findings_with_edited_masks
from engine.pacs.progress import TransferProgress
from engine.pacs.store import StoreReport
from engine.reporting.sign_off import ReportStatus
from engine.reporting.template import ReportTemplate, TemplateError, load_report_template
from engine.storage.report_store import ReportStore, StorageError
from engine.study.model import Series, Study
from lss_desktop import report_exports
from lss_desktop.analysis_messages import describe_analysis_failure
from lss_desktop.app_settings import SETTINGS_FILENAME, AppSettings, save_app_settings
from lss_desktop.background import BackgroundTask, TaskContext, TaskRunner
from lss_desktop.export_dialog import DicomExportDialog
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.level_table import LevelTable
from lss_desktop.load_report_dialog import LoadReportDialog, load_report_summary
from lss_desktop.mask_editing import EditTool, MaskEditor
from lss_desktop.mask_tools_panel import MaskToolsPanel
from lss_desktop.overlay_panel import OverlayPanel
from lss_desktop.pacs_messages import describe_pacs_error
from lss_desktop.prompt_box import PromptBox
from lss_desktop.prompt_segmentation import ModelChoice, PromptSegmenterCache, slices_around
from lss_desktop.recent_studies import MemoryRecentStudies, RecentStudies, RecentStudy
from lss_desktop.report_panel import ReportPanel
from lss_desktop.report_session import ReportSession
from lss_desktop.run_marker import RunRecord
from lss_desktop.series_browser import SeriesBrowser
from lss_desktop.session import ViewChange, ViewerSession
from lss_desktop.settings_dialog import SettingsDialog
from lss_desktop.sign_off_dialog import AddendumDialog, SignOffDialog, SignOffRequest
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

if TYPE_CHECKING:  # the worker brings the analysis (OpenCV): imported when an analysis starts
    from engine.analysis import AnalysisProgress
    from engine.worker.process import WorkerRequest
    from lss_desktop.analysis_job import AnalysisJob

logger = logging.getLogger(__name__)

DEMO_SEED = 0
AUTOSAVE_DELAY_MS = 2000  # after the last change
FINAL_LOCK_REASON = "The report is final: mask edits can no longer change it. Add an addendum instead."
COMPROMISED_LOCK_REASON = "The stored report failed its integrity check: it cannot be edited."
PROGRESS_STEPS = 1000  # the analysis progress bar's range
NOT_ANALYSED_TEXT = "Not analysed yet: Analyze (Ctrl+Enter) finds the levels, the dural sac and its grade."


def open_in_file_manager(folder: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def findings_autosave_path(data_dir: Path, study_instance_uid: str) -> Path:
    """Where the findings of a study (with a person's mask edits) are kept between sessions."""
    return Path(data_dir) / "findings" / f"{study_instance_uid}.json"


class MainWindow(QMainWindow):
    study_opened = Signal(object)  # Study
    study_open_failed = Signal(str, int)  # message, ExitCode
    first_image_shown = Signal(float)  # seconds from the open request to the first image on screen
    analysis_finished = Signal(object)  # StudyFindings shown after an analysis or a relabelling
    analysis_failed = Signal(str, int)  # message, ExitCode (CANCELLED when cancelled)

    def __init__(
        self,
        session: ViewerSession | None = None,
        *,
        study_loader: StudyLoader = load_study_with_engine,
        recent_studies: RecentStudies | None = None,
        show_dialogs: bool = True,
        demo_folder: Path | None = None,
        store: ReportStore | None = None,
        settings: AppSettings | None = None,
        data_dir: Path | None = None,
        open_location: Callable[[Path], None] = open_in_file_manager,
        analysis_model: str | None = None,
        segmenter_factory: str | None = None,
    ) -> None:
        """`store`: the reading database (None: reports are drafted in memory and cannot be signed);
        `data_dir`: where settings, autosaved findings and the PACS outbox live (None: nowhere);
        `open_location`: shows a folder after an export (tests replace it);
        `analysis_model`: the model pack (folder or name) to analyse with instead of the settings';
        `segmenter_factory`: 'module:function' making the segmenter from (model, device) instead of
        a model pack (tests analyse with a ground-truth segmenter)."""
        super().__init__()
        self.session = session if session is not None else ViewerSession()
        self.study_loader = study_loader
        self.recent_studies = recent_studies if recent_studies is not None else MemoryRecentStudies()
        self.show_dialogs = show_dialogs
        self.demo_folder = demo_folder
        self.store = store
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.settings = settings if settings is not None else AppSettings()
        self.open_location = open_location
        self.analysis_model = analysis_model
        self.segmenter_factory = segmenter_factory
        self.runner = TaskRunner(self)
        self.mask_editor = MaskEditor(self.session)
        self.report = ReportSession(self.session, store, self.user_name, self._template_or_default())
        self._findings_unsaved = False
        self._findings_write: BackgroundTask | None = None
        self._transfer_task: BackgroundTask | None = None
        self._report_shown = False  # the report dock was shown for the draft of this study
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self.active_slot = ViewSlot.LEFT
        self.last_message: QMessageBox | None = None
        self.load_report_dialog: LoadReportDialog | None = None
        self.open_to_first_image_s: float | None = None
        self._closed = False
        self._load_task: BackgroundTask | None = None
        self._study_tasks: list[BackgroundTask] = []
        self._prefetched: set[str] = set()
        self._open_started: float | None = None
        self._analysis_job: AnalysisJob | None = None  # an analysis or a relabelling, one at a time
        self._analysis_what = "analysis"
        self.last_analysis_s: float | None = None  # from the worker's start to its findings
        self._prompt_task: BackgroundTask | None = None
        self.prompt_models = PromptSegmenterCache()

        self.setWindowTitle("LSS Desktop")
        screen = QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        self.resize(
            min(1500, available.width()) if available else 1500,
            min(950, available.height()) if available else 950,
        )
        self._create_edit_actions()
        self._build_views()
        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        for emitter, callback in self._subscriptions():
            emitter.connect(callback)
        self._update_title()
        self._update_model_version()
        self._update_analysis_actions()

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
            panel = ViewPanel(self.session, slot, editor=self.mask_editor)
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
        self.overlay_panel = OverlayPanel(self.session, editor=self.mask_editor)
        self.mask_tools = MaskToolsPanel(self.session, self.mask_editor, self.tool_actions)
        self.report_panel = ReportPanel(self.session, self.report)
        self.report_panel.sign_requested.connect(self.sign_report_dialog)
        self.report_panel.addendum_requested.connect(self.add_addendum_dialog)
        self.report_panel.export_pdf_requested.connect(self.export_pdf_dialog)
        self.report_panel.export_dicom_requested.connect(self.export_dicom_dialog)
        self.report_panel.send_to_pacs_requested.connect(self.send_to_pacs)
        self.report_panel.problem.connect(
            lambda title, text: self.show_message(title, text, QMessageBox.Icon.Warning)
        )
        self.series_dock = self._dock(
            "Series", "seriesDock", self.series_browser, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.worklist_dock = self._dock(
            "Recent studies", "worklistDock", self.worklist, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.overlay_dock = self._dock(
            "Overlays", "overlayDock", self.overlay_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.mask_dock = self._dock(
            "Mask editing", "maskDock", self.mask_tools, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.report_dock = self._dock(
            "Report", "reportDock", self.report_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.level_table = LevelTable(self.session)
        self.prompt_box = PromptBox()
        self.prompt_box.segment_requested.connect(self.segment_prompt)
        self.prompt_box.clear_requested.connect(self.session.clear_prompt_masks)
        self.analysis_status = QLabel(NOT_ANALYSED_TEXT)
        self.analysis_status.setObjectName("analysisStatus")
        self.analysis_status.setWordWrap(True)
        analysis = QWidget()
        analysis_layout = QVBoxLayout(analysis)
        analysis_layout.setContentsMargins(8, 4, 8, 4)
        analysis_layout.setSpacing(4)
        analysis_layout.addWidget(self.analysis_status)
        analysis_layout.addWidget(self.level_table, 1)
        analysis_layout.addWidget(self.prompt_box)
        # Under the views only: the side docks keep the window's full height.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.analysis_dock = self._dock(
            "Analysis", "analysisDock", analysis, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.tabifyDockWidget(self.series_dock, self.worklist_dock)
        self.series_dock.raise_()
        # The report takes room from the images only once there is a report to read.
        self.report_dock.hide()
        self.resizeDocks([self.series_dock, self.report_dock], [260, 420], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.series_dock, self.overlay_dock, self.mask_dock], [300, 250, 240], Qt.Orientation.Vertical
        )
        self.resizeDocks([self.analysis_dock], [270], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.progress_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(220)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self._cancel_progress)
        self.version_label = QLabel(
            f"LSS Desktop {engine.__version__} · Model: none active · Not for diagnosis without review"
        )
        self.analysis_progress_label = QLabel("")
        self.analysis_progress_bar = QProgressBar()
        self.analysis_progress_bar.setFixedWidth(160)
        self.analysis_progress_bar.setRange(0, PROGRESS_STEPS)
        self.analysis_cancel_button = QToolButton()
        self.analysis_cancel_button.setText("Cancel analysis")
        self.analysis_cancel_button.clicked.connect(self.cancel_analysis)
        for widget in (
            self.progress_label,
            self.progress_bar,
            self.cancel_button,
            self.analysis_progress_label,
            self.analysis_progress_bar,
            self.analysis_cancel_button,
        ):
            status.addPermanentWidget(widget)
            widget.hide()
        status.addPermanentWidget(self.version_label)

    def _create_edit_actions(self) -> None:
        """Mask editing actions, shared by the Edit menu, the toolbar and the mask editing panel."""
        self.tool_actions: dict[EditTool, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for tool, text, key, tip in (
            (EditTool.NAVIGATE, "Navigate", "N", "Click to move the other views; drag level labels (N)"),
            (EditTool.BRUSH, "Brush", "B", "Paint the structure selected in the legend (B; [ ] size)"),
            (EditTool.ERASER, "Eraser", "E", "Erase the structure selected in the legend (E; [ ] size)"),
        ):
            action = QAction(text, self, checkable=True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(tip)
            action.triggered.connect(lambda _=False, t=tool: self.mask_editor.set_tool(t))
            group.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions[EditTool.NAVIGATE].setChecked(True)
        self.undo_action = QAction("Undo mask edit", self)
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.undo_action.triggered.connect(self.mask_editor.undo)
        self.undo_action.setEnabled(False)
        self.redo_action = QAction("Redo mask edit", self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.redo_action.triggered.connect(self.mask_editor.redo)
        self.redo_action.setEnabled(False)

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
        self.save_action = file_menu.addAction("Save report &draft", self.save_all_now)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        file_menu.addAction("Export report &PDF…", self.export_pdf_dialog)
        file_menu.addAction("Export &DICOM (SEG, SR, PDF)…", self.export_dicom_dialog)
        file_menu.addAction("Send to PAC&S", self.send_to_pacs)
        file_menu.addSeparator()
        settings_action = file_menu.addAction("Se&ttings…", self.open_settings)
        settings_action.setShortcut(QKeySequence("Ctrl+,"))
        file_menu.addSeparator()
        file_menu.addAction("Save &screenshot…", self.save_screenshot_dialog)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        for action in self.tool_actions.values():
            edit_menu.addAction(action)

        analysis_menu = menu.addMenu("&Analysis")
        self.analyze_action = QAction("&Analyze study", self)
        self.analyze_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.analyze_action.setToolTip("Find the levels, segment the dural sac and grade it (Ctrl+Enter)")
        self.analyze_action.triggered.connect(self.analyze)
        analysis_menu.addAction(self.analyze_action)
        self.cancel_analysis_action = analysis_menu.addAction("&Cancel analysis", self.cancel_analysis)
        analysis_menu.addSeparator()
        analysis_menu.addAction("Segment by &text…", self._focus_prompt_box)
        analysis_menu.addAction("C&lear prompt masks", self.session.clear_prompt_masks)

        report_menu = menu.addMenu("&Report")
        report_menu.addAction("&Accept all sentences", self.report_panel.accept_all_button.click)
        report_menu.addAction("&Sign…", self.sign_report_dialog)
        report_menu.addAction("Add a&ddendum…", self.add_addendum_dialog)

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
        for dock in (
            self.series_dock,
            self.worklist_dock,
            self.overlay_dock,
            self.mask_dock,
            self.analysis_dock,
            self.report_dock,
        ):
            view_menu.addAction(dock.toggleViewAction())

        help_menu = menu.addMenu("&Help")
        self.demo_action = help_menu.addAction("Open &demo study", self.open_demo_study)
        help_menu.addAction("&About LSS Desktop", self.show_about)

        toolbar.addAction(self.open_action)
        toolbar.addAction(self.demo_action)
        toolbar.addSeparator()
        toolbar.addAction(self.analyze_action)
        self.analyze_action.setIconText("Analyze")
        toolbar.addSeparator()
        toolbar.addAction(auto_action)
        auto_action.setText("Auto W/L")
        toolbar.addAction(reset_action)
        reset_action.setText("Reset views")
        toolbar.addSeparator()
        toolbar.addAction(self.anonymise_action)
        toolbar.addAction(self.third_view_action)
        toolbar.addSeparator()
        for action in self.tool_actions.values():
            toolbar.addAction(action)
        toolbar.addAction(self.undo_action)
        toolbar.addAction(self.redo_action)
        self.undo_action.setIconText("Undo")
        self.redo_action.setIconText("Redo")

    def _subscriptions(self) -> tuple:
        events = self.session.events
        editor = self.mask_editor.events
        report = self.report.events
        return (
            (events.study_changed, self._on_study_changed),
            (events.view_changed, self._on_view_changed),
            (events.findings_changed, self._on_findings_changed),
            (events.findings_edited, self._on_findings_edited),
            (events.level_label_moved, self._on_level_label_moved),
            (editor.history_changed, self._on_history_changed),
            (editor.tool_changed, self._on_tool_changed),
            (editor.edit_refused, self._on_edit_refused),
            (report.draft_changed, self._on_draft_changed),
            (report.dirty_changed, self._on_report_dirty),
            (report.status_changed, self._on_report_status),
            (report.saved, self._on_report_saved),
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

    def _cancel_progress(self) -> None:
        if self._transfer_task is not None:
            self._transfer_task.cancel()
        else:
            self.cancel_loading()

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
        self.save_all_now()
        if folder is not None:
            try:
                self.recent_studies.remember(RecentStudy.from_study(study, Path(folder)))
            except (StorageError, ValueError) as exc:  # the study opens; only the worklist misses it
                logger.warning("the study could not be put on the worklist: %s", exc)
        self.session.set_study(study)
        self.worklist.refresh()
        self._restore_saved_findings(study)
        self.statusBar().showMessage(load_report_summary(study), 10000)
        if self.show_dialogs and (study.load_report.issues or study.set_aside):
            self.show_load_report()
        self.study_opened.emit(study)

    def close_study(self) -> None:
        self.save_all_now()
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
        self._stop_analysis()
        self._update_analysis_actions()
        self.prompt_box.set_status("")
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

    # ---- settings and who is reading ------------------------------------------------------

    @property
    def user_name(self) -> str:
        """Who edits (recorded on sentences and in the audit trail): the settings' name, else the login."""
        return self.settings.user_name.strip() or getpass.getuser()

    def _template_or_default(self) -> ReportTemplate:
        if self.settings.report_template:
            try:
                return load_report_template(self.settings.report_template)
            except TemplateError as exc:
                logger.warning("the site report template cannot be used (%s); the default is used", exc)
        return load_report_template()

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.runner, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_settings is not None:
            self.apply_settings(dialog.result_settings)

    def apply_settings(self, settings: AppSettings) -> None:
        """Use and keep new settings (the name for edits, the template for new drafts)."""
        template_changed = settings.report_template != self.settings.report_template
        self.settings = settings
        self.report.set_person(self.user_name)
        if template_changed:
            self.report.set_template(self._template_or_default())
        if self.data_dir is not None:
            try:
                save_app_settings(settings, self.data_dir / SETTINGS_FILENAME)
            except OSError as exc:
                self.show_message(
                    "Settings", f"The settings could not be saved:\n{exc}", QMessageBox.Icon.Warning
                )

    # ---- findings, masks and the report ---------------------------------------------------

    def model_text(self) -> str:
        """The model behind the findings shown, e.g. "lss-vlm-spca 0.3.0", or "none active"."""
        findings = self.session.findings
        provenance = None
        if findings is not None:
            provenance = findings.provenance or (
                findings.findings[0].provenance if findings.findings else None
            )
        if provenance is None and self.report.draft is not None:
            provenance = self.report.draft.findings_provenance
        return "none active" if provenance is None else f"{provenance.model_name} {provenance.model_version}"

    def _update_model_version(self) -> None:
        model = self.model_text()
        self.banner_version.setText(f"LSS Desktop {engine.__version__}  ·  Model: {model}")
        self.version_label.setText(
            f"LSS Desktop {engine.__version__} · Model: {model} · Not for diagnosis without review"
        )

    def _on_findings_changed(self, findings: StudyFindings | None) -> None:
        self._update_model_version()
        self._update_edit_lock()
        self._update_analysis_status()
        if findings is not None:
            self._findings_unsaved = True
            self._schedule_autosave()

    def _on_findings_edited(self, _findings: StudyFindings, _levels: tuple[str, ...]) -> None:
        self._findings_unsaved = True
        self._schedule_autosave()

    def _on_history_changed(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)

    def _on_tool_changed(self, tool: EditTool, _size_mm: float, _structure: str) -> None:
        self.tool_actions[tool].setChecked(True)

    def _on_edit_refused(self, reason: str) -> None:
        self.statusBar().showMessage(reason, 8000)

    def _on_draft_changed(self, draft: object, _change: object) -> None:
        if draft is not None and not self._report_shown:
            self._report_shown = True
            self.report_dock.show()
            self.resizeDocks([self.series_dock, self.report_dock], [260, 380], Qt.Orientation.Horizontal)
        elif draft is None:
            self._report_shown = False

    def _on_report_dirty(self, dirty: bool) -> None:
        if dirty:
            self._schedule_autosave()

    def _on_report_status(self, _status: ReportStatus | None) -> None:
        self._update_edit_lock()
        self._update_analysis_actions()
        self._update_model_version()
        self.worklist.refresh()

    def _on_report_saved(self, _version: int, _saved_utc: str) -> None:
        self.worklist.refresh()

    def _update_edit_lock(self) -> None:
        stored = self.report.stored
        reason = None
        if stored is not None and stored.compromised:
            reason = COMPROMISED_LOCK_REASON
        elif self.report.read_only:
            reason = FINAL_LOCK_REASON
        if reason is not None:
            self.mask_editor.set_tool(EditTool.NAVIGATE)
        self.mask_editor.set_locked(reason)
        for tool in (EditTool.BRUSH, EditTool.ERASER):
            self.tool_actions[tool].setEnabled(reason is None)

    # ---- autosave --------------------------------------------------------------------------

    def _schedule_autosave(self) -> None:
        """Save 2 s after the last change (the timer restarts with every change)."""
        if self.store is not None or self.data_dir is not None:
            self._autosave_timer.start()

    def has_unsaved_work(self) -> bool:
        self.report_panel.commit_pending_edit()
        return (self.report.dirty and self.store is not None) or (
            self._findings_unsaved and self.data_dir is not None
        )

    def autosave(self) -> bool:
        """Store the draft and write the findings (in the background); False when something failed."""
        return self._save(blocking=False)

    def save_all_now(self) -> bool:
        """Store the draft and write the findings before returning; False when something failed."""
        self._autosave_timer.stop()
        self.report_panel.commit_pending_edit()
        return self._save(blocking=True)

    def _save(self, blocking: bool) -> bool:
        ok = True
        if self.store is not None and self.report.dirty:
            try:
                self.report.save()
            except StorageError as exc:
                ok = False
                logger.warning("the draft could not be saved: %s", type(exc).__name__)
                self.show_message("Draft not saved", str(exc), QMessageBox.Icon.Warning)
        if self._findings_unsaved and self.data_dir is not None:
            ok = self._save_findings(blocking) and ok
        return ok

    def _save_findings(self, blocking: bool) -> bool:
        assert self.data_dir is not None
        snapshot = self.mask_editor.snapshot_findings()
        if snapshot is None:
            self._findings_unsaved = False
            return True
        path = findings_autosave_path(self.data_dir, snapshot.study_instance_uid)
        if blocking or self._findings_write is not None:
            if self._findings_write is not None:
                self.runner.wait_for_all(10_000)  # one writer at a time: the newest snapshot wins
            try:
                save_findings(snapshot, path)
            except OSError as exc:
                self.show_message("Findings not saved", f"{path}: {exc}", QMessageBox.Icon.Warning)
                return False
            self._findings_unsaved = False
            return True

        def write(_context: TaskContext) -> Path:
            return save_findings(snapshot, path)

        def finished(_path: Path) -> None:
            self._findings_write = None

        def failed(error: Exception) -> None:
            self._findings_write = None
            self._findings_unsaved = True
            self.statusBar().showMessage(f"The findings could not be saved: {error}", 10000)

        self._findings_unsaved = False
        self._findings_write = self.runner.start(
            "save findings", write, on_success=finished, on_failure=failed
        )
        return True

    def _restore_saved_findings(self, study: Study) -> None:
        """Show the findings kept for this study from an earlier session (with a person's edits)."""
        if self.data_dir is None:
            return
        path = findings_autosave_path(self.data_dir, study.study_instance_uid)
        if not path.exists():
            return
        try:
            findings = load_findings(path)
            self.session.set_findings(findings)
        except (FindingsFormatError, ValueError) as exc:
            self.show_message(
                "Saved findings", f"The saved findings cannot be used:\n{exc}", QMessageBox.Icon.Warning
            )
            return
        self._findings_unsaved = False
        self.statusBar().showMessage("The findings and mask edits of the last session are shown", 8000)

    # ---- analysis, relabelling and prompts ------------------------------------------------

    def model_choice(self) -> ModelChoice:
        """The model analyses and prompts use: --model, else the settings' pack (else the default)."""
        return ModelChoice(
            model=self.analysis_model or self.settings.model_pack or None,
            device=self.settings.device,
            segmenter_factory=self.segmenter_factory,
        )

    @property
    def is_analysing(self) -> bool:
        """True while an analysis or a relabelling runs in the worker process."""
        return self._analysis_job is not None

    @property
    def analysis_job(self) -> AnalysisJob | None:
        return self._analysis_job

    def _analysis_refusal(self) -> str | None:
        """Why the open study cannot be analysed (or relabelled) now, or None."""
        study = self.session.study
        if study is None:
            return "Open a study first."
        if self._analysis_job is not None:
            return f"The {self._analysis_what} is still running."
        if self.report.read_only:
            return "The report is final: a new analysis can no longer change it. Add an addendum instead."
        if not Path(study.root).is_dir():
            return "This study was not opened from a folder, so the analysis cannot read it."
        return None

    def analyze(self) -> AnalysisJob | None:
        """Analyse the open study in the engine's worker process (progress and cancel in the status
        bar); the findings replace the shown ones, keeping a person's mask edits."""
        refusal = self._analysis_refusal()
        if refusal is not None:
            if self._analysis_job is None:
                self.show_message("Analyze", refusal)
            return self._analysis_job
        from engine.worker import AnalysisRequest

        study = self.session.study
        assert study is not None
        choice = self.model_choice()
        request = AnalysisRequest(
            study_dir=str(study.root),
            model=choice.model,
            device=choice.device,
            segmenter_factory=choice.segmenter_factory,
        )
        return self._start_job(request, None, "analysis", "Analysing: starting the analysis process…")

    def relabel_levels(self, mapping: dict[str, str]) -> AnalysisJob | None:
        """Rename disc levels {old: new} in the worker: the findings follow their discs and the
        levels whose label the model reads are analysed again (engine.analysis.relabel_study)."""
        refusal = self._analysis_refusal()
        findings = self.mask_editor.snapshot_findings()
        if refusal is not None or findings is None:
            self.session.reset_level_labels()
            self.statusBar().showMessage(refusal or "There are no levels to relabel yet.", 8000)
            return None
        from engine.worker import RelabelRequest

        study = self.session.study
        assert study is not None
        choice = self.model_choice()
        request = RelabelRequest(
            study_dir=str(study.root),
            mapping=tuple(mapping.items()),
            model=choice.model,
            device=choice.device,
            segmenter_factory=choice.segmenter_factory,
        )
        text = f"Relabelling: {len(mapping)} disc label(s) change, the findings follow…"
        job = self._start_job(request, findings, "relabelling", text)
        self.analysis_progress_label.setToolTip(", ".join(f"{old} → {new}" for old, new in mapping.items()))
        return job

    def _start_job(
        self, request: WorkerRequest, findings: StudyFindings | None, what: str, text: str
    ) -> AnalysisJob:
        from lss_desktop.analysis_job import AnalysisJob

        job = AnalysisJob(request, findings, parent=self)
        job.progressed.connect(self._on_analysis_progress)
        job.succeeded.connect(self._on_analysis_succeeded)
        job.failed.connect(self._on_analysis_failed)
        self._analysis_job = job
        self._analysis_what = what
        self.analysis_progress_label.setText(text)
        self.analysis_progress_bar.setValue(0)
        for widget in (self.analysis_progress_label, self.analysis_progress_bar, self.analysis_cancel_button):
            widget.show()
        self._update_analysis_actions()
        job.start()
        logger.info("%s started in worker process %s", what, job.pid)
        return job

    def cancel_analysis(self) -> None:
        if self._analysis_job is not None:
            self._analysis_job.cancel()
            self.analysis_progress_label.setText(f"Cancelling the {self._analysis_what}…")

    def _end_job(self) -> None:
        self._analysis_job = None
        for widget in (self.analysis_progress_label, self.analysis_progress_bar, self.analysis_cancel_button):
            widget.hide()
        self._update_analysis_actions()

    def _update_analysis_actions(self) -> None:
        """Analyze is offered for an open study whose report is not final, while none runs."""
        running = self._analysis_job is not None
        study = self.session.study
        self.analyze_action.setEnabled(not running and study is not None and not self.report.read_only)
        self.cancel_analysis_action.setEnabled(running)

    def _stop_analysis(self) -> None:
        """Stop a running analysis whose result is no longer wanted (study closed, window closing)."""
        job = self._analysis_job
        if job is None:
            return
        for signal in (job.progressed, job.succeeded, job.failed):
            signal.disconnect()
        self._end_job()
        if self.session.findings is not None:
            self.session.reset_level_labels()
        job.close()

    def _on_analysis_progress(self, job: AnalysisJob, event: AnalysisProgress) -> None:
        if job is not self._analysis_job or job.cancel_requested:
            return
        self.analysis_progress_bar.setValue(round(min(max(event.fraction, 0.0), 1.0) * PROGRESS_STEPS))
        self.analysis_progress_label.setText(f"{event.stage.capitalize()}: {event.message}")

    def _with_person_edits(self, findings: StudyFindings) -> tuple[StudyFindings, int]:
        """`findings` with the masks a person edited in the shown findings put back (and the levels
        resting on them measured again): a new analysis never undoes a person's work."""
        current = self.mask_editor.snapshot_findings()
        study = self.session.study
        edited = [m for m in current.masks if m.edited_by_person] if current is not None else []
        if not edited or study is None:
            return findings, 0
        try:
            merged, _levels = findings_with_edited_masks(findings, edited, study)
        except (KeyError, ValueError) as exc:  # the edited masks' images are not in this study
            logger.warning("edited masks could not be kept: %s", exc)
            return findings, 0
        return merged, len(edited)

    def _on_analysis_succeeded(self, job: AnalysisJob, findings: StudyFindings) -> None:
        if job is not self._analysis_job:
            return
        what = self._analysis_what
        self._end_job()
        study = self.session.study
        if study is None or findings.study_instance_uid != study.study_instance_uid:
            self.statusBar().showMessage(f"The {what} was for another study: its result is not shown", 8000)
            return
        merged, kept = self._with_person_edits(findings)
        self.last_analysis_s = job.elapsed_s
        selected = self.session.selected_level
        self.session.set_findings(merged)
        if what == "analysis" and merged.findings:
            # Show the level the person was reading, else the most severe one, with its mask.
            grades = list(SchizasGrade)
            worst = max(merged.findings, key=lambda f: grades.index(f.grade)).level
            keep = selected is not None and merged.finding_for(selected) is not None
            self.session.go_to_level(selected if keep and selected else worst, show_key_series=True)
        self._update_analysis_status()
        timings = ", ".join(f"{t.stage} {t.seconds:.1f} s" for t in job.timings)
        logger.info("%s done in %.2f s (%s)", what, job.elapsed_s or 0.0, timings)
        done = "Levels relabelled" if what == "relabelling" else "Analysis done"
        edits = f"; your edits of {kept} mask(s) were kept" if kept else ""
        self.statusBar().showMessage(
            f"{done} in {job.elapsed_s or 0.0:.1f} s with {self.model_text()}{edits}", 15000
        )
        self.analysis_finished.emit(merged)

    def _on_analysis_failed(self, job: AnalysisJob, error: Exception) -> None:
        if job is not self._analysis_job:
            return
        what = self._analysis_what
        self._end_job()
        if what == "relabelling":
            self.session.reset_level_labels()
        failure = describe_analysis_failure(error, what)
        logger.warning("%s failed: %s", what, failure.kind)
        if failure.cancelled:
            self.statusBar().showMessage(f"{what.capitalize()} cancelled", 8000)
        else:
            self.show_message(failure.title, failure.message, QMessageBox.Icon.Warning)
        self.analysis_failed.emit(failure.message, int(failure.exit_code))

    def _update_analysis_status(self) -> None:
        findings = self.session.findings
        if findings is None:
            self.analysis_status.setText(NOT_ANALYSED_TEXT)
            return
        graded = len(findings.findings)
        text = f"{len(findings.levels)} levels, {graded} graded · model {self.model_text()}"
        if self.last_analysis_s is not None:
            text += f" · analysed in {self.last_analysis_s:.1f} s"
        relabelled = [d.label for d in findings.levels if d.label_overridden]
        if relabelled:
            text += " · labels set by a person"
        self.analysis_status.setText(text + " · click a level to show it")

    def _on_level_label_moved(self, level: str, position: tuple[float, float, float]) -> None:
        """A person dropped a level label: on another disc it relabels the count from there; on its
        own disc, or where no disc was found, the label goes back (with the reason)."""
        from engine.levels.label_drop import relabelling_for_dropped_label
        from engine.levels.override import LevelLabelError

        findings = self.session.findings
        study = self.session.study
        if findings is None or study is None:
            return
        discs = (*findings.levels, *findings.other_discs)
        disc = next((d for d in discs if d.label == level), None)
        normal = None
        if disc is not None:
            try:
                geometry = study.series_by_uid(disc.sagittal_series_uid).slices[0].geometry
            except KeyError:
                geometry = None
            normal = None if geometry is None else geometry.normal
        try:
            mapping = relabelling_for_dropped_label(discs, level, position, plane_normal_lps=normal)
        except LevelLabelError as exc:
            self.session.reset_level_labels()
            self.statusBar().showMessage(f"Level labels unchanged: {exc}", 10000)
            return
        if not mapping:
            self.session.reset_level_labels()
            return
        self.relabel_levels(mapping)

    def _focus_prompt_box(self) -> None:
        self.analysis_dock.show()
        self.prompt_box.edit.setFocus()

    def segment_prompt(self, prompt: str, half_range: int = 0) -> BackgroundTask | None:
        """Segment a text prompt on the active view's slice (and `half_range` slices either side),
        off the GUI thread; the masks show as a structure of their own in the legend."""
        slot = self.active_slot
        study, series = self.session.study, self.session.series_in(slot)
        if study is None or series is None:
            self.prompt_box.set_status("Show a series in the active view first.")
            return None
        if self._prompt_task is not None:
            return self._prompt_task
        text = prompt.strip()
        indices = slices_around(series, self.session.view(slot).slice_index, half_range)
        choice = self.model_choice()
        models = self.prompt_models

        def segment(context: TaskContext) -> tuple[SliceMask, ...]:
            from engine.segmentation import segment_slices

            return segment_slices(series, indices, text, models.get(choice), cancel=context.cancel.is_set)

        def done(masks: tuple[SliceMask, ...]) -> None:
            self._prompt_task = None
            self.prompt_box.set_busy(False)
            if self.session.study is not study:
                return
            self.session.add_prompt_masks(masks)
            pixels = sum(int(m.mask.sum()) for m in masks)
            provenance = masks[0].provenance if masks else None
            model = f"{provenance.model_name} {provenance.model_version}" if provenance else "the model"
            self.prompt_box.set_status(
                f"“{text}”: {len(masks)} image(s), {pixels} pixels, by {model}"
                + ("" if pixels else " (nothing found)")
            )

        def failed(error: Exception) -> None:
            self._prompt_task = None
            self.prompt_box.set_busy(False)
            logger.warning("prompt segmentation failed: %s", type(error).__name__)
            self.prompt_box.set_status(f"Not segmented: {error}")

        where = (
            f"image {indices[0] + 1}" if len(indices) == 1 else f"images {indices[0] + 1}–{indices[-1] + 1}"
        )
        self.prompt_box.set_busy(True, f"Segmenting “{text}” on {where} of the {slot.value} view…")
        self._prompt_task = self.runner.start(
            "prompt segmentation", segment, on_success=done, on_failure=failed
        )
        self._study_tasks.append(self._prompt_task)
        return self._prompt_task

    # ---- closing and restoring -------------------------------------------------------------

    def ask(
        self,
        title: str,
        text: str,
        buttons: QMessageBox.StandardButton,
        default: QMessageBox.StandardButton,
        button_texts: dict[QMessageBox.StandardButton, str] | None = None,
    ) -> QMessageBox.StandardButton:
        """A modal question; `default` when dialogs are off."""
        if not self.show_dialogs:
            return default
        box = QMessageBox(QMessageBox.Icon.Question, title, text, buttons, self)
        box.setDefaultButton(default)
        for button, label in (button_texts or {}).items():
            box.button(button).setText(label)
        return QMessageBox.StandardButton(box.exec())

    def confirm_close(self) -> bool:
        """Before closing: unsaved work is saved, discarded or the close cancelled (the person chooses;
        without dialogs it is saved)."""
        if not self.has_unsaved_work():
            return True
        save, discard, cancel = (
            QMessageBox.StandardButton.Save,
            QMessageBox.StandardButton.Discard,
            QMessageBox.StandardButton.Cancel,
        )
        self._autosave_timer.stop()  # the person decides what is saved while asked
        answer = self.ask(
            "Unsaved work",
            "The report draft or mask edits have changes that are not saved yet.",
            save | discard | cancel,
            save,
            {save: "Save draft", discard: "Discard changes"},
        )
        if answer == cancel:
            self._schedule_autosave()
            return False
        if answer == save:
            return self.save_all_now()
        return True

    def offer_restore(self, records: list[RunRecord]) -> bool:
        """After a crash: offer to reopen the study whose draft was being written; True when accepted."""
        if self.store is None:
            return False
        for record in records:
            if not record.study_instance_uid:
                continue
            try:
                stored = self.store.load_report(record.study_instance_uid)
                entry = self.store.worklist_entry(record.study_instance_uid)
            except KeyError:
                continue
            if stored.status is ReportStatus.FINAL:
                continue
            date = entry.study_date
            shown_date = f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 else date
            edits = (
                " and the findings with your mask edits"
                if self.data_dir is not None
                and findings_autosave_path(self.data_dir, record.study_instance_uid).exists()
                else ""
            )
            yes = QMessageBox.StandardButton.Yes
            answer = self.ask(
                "Restore the last draft",
                "LSS Desktop did not close properly last time.\n\n"
                f"The {stored.status.value} report of “{entry.description or 'study'}” {shown_date}, last saved "
                f"{stored.saved_utc.replace('T', ' ')[:19]} UTC, is kept. Reopen the study with its draft{edits}?",
                yes | QMessageBox.StandardButton.No,
                yes,
                {yes: "Restore", QMessageBox.StandardButton.No: "Not now"},
            )
            if answer != yes:
                return False
            self.open_folder(Path(entry.folder_path))
            return True
        return False

    # ---- sign-off and addenda --------------------------------------------------------------

    def sign_report_dialog(self) -> None:
        self.report_panel.commit_pending_edit()
        if self.report.draft is None:
            return
        dialog = SignOffDialog(
            self.settings.user_name or self.user_name,
            len(self.report.sentences_needing_review),
            self.model_text(),
            self,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.sign_report(dialog.request())

    def sign_report(self, request: SignOffRequest) -> bool:
        """Sign as the request says; refusals are shown with the store's reason."""
        self.report_panel.commit_pending_edit()
        try:
            signature = self.report.sign(request.status, request.radiologist, request.attestation)
        except StorageError as exc:
            self.show_message("Not signed", str(exc), QMessageBox.Icon.Warning)
            return False
        self.statusBar().showMessage(
            f"Report signed {signature.status.value} by {signature.radiologist}", 10000
        )
        return True

    def add_addendum_dialog(self) -> None:
        dialog = AddendumDialog(self.user_name, self.model_text(), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            request = dialog.request()
            self.add_addendum(request.text, request.author)

    def add_addendum(self, text: str, author: str) -> bool:
        try:
            self.report.add_addendum(text, author)
        except StorageError as exc:
            self.show_message("Addendum not added", str(exc), QMessageBox.Icon.Warning)
            return False
        self.statusBar().showMessage("Addendum added to the final report", 8000)
        return True

    # ---- exports ---------------------------------------------------------------------------

    def _export_job(self) -> report_exports.ExportJob | None:
        """Save the draft and gather what an export needs; None (with a message) when it cannot run."""
        study = self.session.study
        if study is None or self.report.draft is None:
            self.show_message("Export", "Open a study with a report first.")
            return None
        if self.store is None:
            self.show_message("Export", "No reading database is open: the report cannot be exported.")
            return None
        if not self.save_all_now():
            return None
        findings = self.mask_editor.snapshot_findings() or StudyFindings(
            study_instance_uid=study.study_instance_uid, levels=(), findings=()
        )
        return report_exports.ExportJob(
            store_path=self.store.path,
            study=study,
            findings=findings,
            actor=self.user_name,
            thresholds=self.report.template.thresholds,
            organisation=self.settings.institution or report_exports.DEFAULT_ORGANISATION,
        )

    def _default_export_folder(self) -> Path:
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(documents or Path.home())

    def export_pdf_dialog(self) -> None:
        study = self.session.study
        if study is None:
            return
        suggested = self._default_export_folder() / f"lss-report-{study.study_date or 'study'}.pdf"
        path, _ = QFileDialog.getSaveFileName(self, "Export report PDF", str(suggested), "PDF (*.pdf)")
        if path:
            self.export_pdf(Path(path))

    def export_pdf(self, path: Path) -> BackgroundTask | None:
        """Write the report PDF off the GUI thread; its folder opens when done."""
        job = self._export_job()
        if job is None:
            return None

        def done(written: Path) -> None:
            self._hide_progress()
            self.statusBar().showMessage(f"Report PDF saved: {written}", 10000)
            self.open_location(written.parent)

        self._show_progress("Writing the report PDF…")
        return self.runner.start(
            "export PDF",
            lambda _context: report_exports.export_pdf(job, Path(path)),
            on_success=done,
            on_failure=lambda error: self._export_failed("PDF not written", error),
        )

    def export_dicom_dialog(self) -> None:
        study = self.session.study
        if study is None:
            return
        dialog = DicomExportDialog(
            self._default_export_folder() / f"lss-dicom-{study.study_date or 'study'}", self
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.export_dicom(dialog.folder, dialog.anonymise)

    def export_dicom(self, folder: Path, anonymise: bool) -> BackgroundTask | None:
        """Write the SEG, SR and encapsulated PDF (optionally anonymised) off the GUI thread."""
        job = self._export_job()
        if job is None:
            return None

        def done(paths: list[Path]) -> None:
            self._hide_progress()
            self.statusBar().showMessage(f"{len(paths)} DICOM objects written to {folder}", 10000)
            self.open_location(Path(folder))

        self._show_progress("Writing DICOM objects…")
        return self.runner.start(
            "export DICOM",
            lambda _context: report_exports.export_dicom(job, Path(folder), anonymise),
            on_success=done,
            on_failure=lambda error: self._export_failed("DICOM export failed", error),
        )

    def send_to_pacs(self) -> BackgroundTask | None:
        """Export the DICOM objects and C-STORE them to the configured node, with progress and cancel."""
        node = self.settings.pacs_node
        if node is None:
            self.show_message(
                "Send to PACS", "No PACS node is set up: enter one in Settings (File > Settings)."
            )
            return None
        job = self._export_job()
        if job is None:
            return None
        base = self.data_dir if self.data_dir is not None else Path(tempfile.gettempdir()) / "lss-desktop"
        outbox = base / "outbox" / job.study_instance_uid / time.strftime("%Y%m%d-%H%M%S")

        def send(context: TaskContext) -> StoreReport:
            def progress(p: TransferProgress) -> None:
                context.report_progress(p.completed + p.failed, p.total or 0)

            return report_exports.send_to_pacs(job, node, outbox, progress=progress, cancel=context.cancel)

        def done(report: StoreReport) -> None:
            self._transfer_task = None
            self._hide_progress()
            self.show_message("Sent to PACS", f"{len(report.stored)} object(s) stored on {node}.")

        def failed(error: Exception) -> None:
            self._transfer_task = None
            self._hide_progress()
            title, message = describe_pacs_error(error)
            logger.warning("sending to the PACS failed: %s", type(error).__name__)
            self.show_message(title, message, QMessageBox.Icon.Warning)

        def progressed(done_count: int, total: int) -> None:
            if total > 0:
                self.progress_bar.setRange(0, total)
                self.progress_bar.setValue(done_count)
                self.progress_bar.setFormat(f"{done_count} / {total} objects")

        self._show_progress(f"Sending to {node}…")
        self._transfer_task = self.runner.start(
            "send to PACS", send, on_success=done, on_failure=failed, on_progress=progressed
        )
        return self._transfer_task

    def _export_failed(self, title: str, error: Exception) -> None:
        self._hide_progress()
        logger.warning("export failed: %s", type(error).__name__)
        self.show_message(title, f"{type(error).__name__}: {error}", QMessageBox.Icon.Warning)

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
            f"LSS Desktop {engine.__version__}\n\n{engine.INTENDED_USE}\n\nModel: {self.model_text()}.",
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
        self._autosave_timer.stop()
        self._stop_analysis()
        self.runner.cancel_all()
        self._load_task = None
        self.runner.wait_for_all(10_000)
        for emitter, callback in self._subscriptions():
            emitter.disconnect(callback)
        for panel in self.panels.values():
            panel.close_panel()
        self.series_browser.close_browser()
        self.overlay_panel.close_panel()
        self.mask_tools.close_panel()
        self.report_panel.close_panel()
        self.level_table.close_table()
        self.mask_editor.close()
        self.report.close()
        if self.load_report_dialog is not None:
            self.load_report_dialog.close()

    def changeEvent(self, event: QEvent) -> None:
        # Leaving the window (another app, a dialog) saves what is waiting for the autosave.
        if (
            event.type() == QEvent.Type.ActivationChange
            and not self.isActiveWindow()
            and self._autosave_timer.isActive()
            and not self._closed
        ):
            self._autosave_timer.stop()
            self.autosave()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and not self.confirm_close():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

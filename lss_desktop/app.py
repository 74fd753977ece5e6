"""`lss-desktop [STUDY_DIR] [--screenshot FILE] [--analyze] [--model PACK]`: the desktop viewer.

With --screenshot the app opens the study (and with --analyze analyses it in the worker process,
with --model or the configured model pack), waits until every view shows its image and the
background work is done, saves a screenshot of the whole window and exits: for tests, docs and
support; it reads and writes no reading database. Exit codes follow `lss` (engine.cli.exit_codes):
e.g. 6 when the model pack is missing or damaged, 5 when the levels are not found.

Otherwise the reading database, the settings and autosaved findings live in the data folder
(--data-dir, else $LSS_DATA_DIR, else the user's data folder). A marker file there tells whether
the last run exited cleanly; after a crash the app offers to restore the last draft.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import engine
from engine.cli.exit_codes import ExitCode
from engine.storage.data_dir import user_data_dir
from engine.storage.report_store import ReportStore, StorageError
from lss_desktop.app_settings import SETTINGS_FILENAME, load_app_settings
from lss_desktop.main_window import MainWindow
from lss_desktop.recent_studies import MemoryRecentStudies, RecentStudies, StoreRecentStudies
from lss_desktop.run_marker import RunMarker, forget_unclean_exits, unclean_exits
from lss_desktop.study_sources import StudyLoader, load_study_with_engine
from lss_desktop.theme import apply_dark_theme

SCREENSHOT_TIMEOUT_S = 120
ANALYZE_SCREENSHOT_TIMEOUT_S = 900  # a full study on a slow CPU
_POLL_MS = 50


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lss-desktop",
        description="LSS Desktop: decision support for lumbar spinal stenosis on MRI. " + engine.INTENDED_USE,
    )
    parser.add_argument("study_dir", nargs="?", type=Path, metavar="STUDY_DIR", help="DICOM folder to open")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE",
        help="open STUDY_DIR, save a screenshot of the whole window to FILE (PNG) and exit",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="analyse the study after opening it (in a worker process; with --screenshot, before the shot)",
    )
    parser.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="model pack folder or name to analyse with (default: the one chosen in Settings, else lss-default)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder of the reading database and settings (default: $LSS_DATA_DIR or the user data folder)",
    )
    parser.add_argument("--version", action="version", version=f"lss-desktop {engine.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    return parser


def analysis_unavailable_reason() -> str | None:
    """Why --analyze cannot run in this build, or None when it can."""
    for module in ("engine.analysis", "engine.worker"):
        if importlib.util.find_spec(module) is None:
            return f"the analysis engine ({module}) is not installed"
    return None


class ScreenshotJob(QObject):
    """Waits for the opened study to be fully on screen (and analysed, with `analyze`), saves the
    screenshot, ends the event loop."""

    def __init__(
        self, app: QApplication, window: MainWindow, path: Path, timeout_s: float, analyze: bool = False
    ) -> None:
        super().__init__(window)
        self.app = app
        self.window = window
        self.path = path
        self.exit_code = ExitCode.FAILURE
        self.timeout_s = timeout_s
        self.analyze = analyze
        self._opened = False
        self._analysis_started = False
        self._analysed = False
        window.study_opened.connect(self._on_opened)
        window.study_open_failed.connect(self._on_failed)
        window.analysis_finished.connect(self._on_analysed)
        window.analysis_failed.connect(self._on_failed)
        self._poll = QTimer(self)
        self._poll.setInterval(_POLL_MS)
        self._poll.timeout.connect(self._try_capture)
        self._poll.start()
        QTimer.singleShot(int(timeout_s * 1000), self._on_timeout)

    def _on_opened(self, _study: object) -> None:
        self._opened = True

    def _on_analysed(self, _findings: object) -> None:
        self._analysed = True

    def _on_failed(self, message: str, code: int) -> None:
        print(f"lss-desktop: {message}", file=sys.stderr)
        self._finish(ExitCode(code))

    def _try_capture(self) -> None:
        if not self._opened or self.window.is_loading or self.window.runner.running_count:
            return
        if not self.window.views_ready():
            return
        if self.analyze and not self._analysis_started:
            self._analysis_started = True
            if self.window.analyze() is None:
                print("lss-desktop: the study cannot be analysed", file=sys.stderr)
                self._finish(ExitCode.FAILURE)
            return
        if self.analyze and not self._analysed:
            return
        try:
            self.window.save_screenshot(self.path)
        except OSError as exc:
            print(f"lss-desktop: {exc}", file=sys.stderr)
            self._finish(ExitCode.INPUT_INVALID)
            return
        print(f"lss-desktop: screenshot saved to {self.path}")
        self._finish(ExitCode.OK)

    def _on_timeout(self) -> None:
        if self._poll.isActive():
            what = "analysed and on screen" if self.analyze else "on screen"
            print(f"lss-desktop: the study was not {what} within {self.timeout_s:g} s", file=sys.stderr)
            self._finish(ExitCode.FAILURE)

    def _finish(self, code: ExitCode) -> None:
        self._poll.stop()
        self.exit_code = code
        self.app.exit(int(code))


def offer_restore_after_crash(window: MainWindow, data_dir: Path) -> bool:
    """Ask about the drafts of runs that did not exit cleanly (once); True when one is restored."""
    records = unclean_exits(data_dir)
    if not records:
        return False
    try:
        return window.offer_restore(records)
    finally:
        forget_unclean_exits(data_dir, records)


def main(
    argv: list[str] | None = None,
    *,
    study_loader: StudyLoader | None = None,
    recent_studies: RecentStudies | None = None,
    segmenter_factory: str | None = None,
) -> int:
    """Run the app. `study_loader` and `recent_studies` replace the engine loader and the
    database's worklist; `segmenter_factory` ('module:function') replaces the model packs in
    analyses (tests inject them; production uses the defaults)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    reason = analysis_unavailable_reason() if args.analyze else None
    if reason is not None:
        print(
            f"lss-desktop: --analyze is not available in this build: {reason}. "
            "Open the study without --analyze.",
            file=sys.stderr,
        )
        return int(ExitCode.USAGE)
    if args.screenshot is not None and args.study_dir is None:
        print("lss-desktop: --screenshot needs a STUDY_DIR to open", file=sys.stderr)
        return int(ExitCode.USAGE)
    if args.study_dir is not None and not args.study_dir.is_dir():
        print(f"lss-desktop: STUDY_DIR {args.study_dir} is not a folder", file=sys.stderr)
        return int(ExitCode.INPUT_INVALID)

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "lss-desktop"])
    assert isinstance(app, QApplication)
    app.setOrganizationName("LSS Desktop")
    app.setApplicationName("lss-desktop")
    apply_dark_theme(app)
    if args.screenshot is not None:
        settings, problems = load_app_settings(user_data_dir(args.data_dir) / SETTINGS_FILENAME)
        for problem in problems:
            print(f"lss-desktop: {problem}", file=sys.stderr)
        window = MainWindow(
            study_loader=study_loader or load_study_with_engine,
            recent_studies=recent_studies or MemoryRecentStudies(),
            show_dialogs=False,
            settings=settings,
            analysis_model=args.model,
            segmenter_factory=segmenter_factory,
        )
        timeout = ANALYZE_SCREENSHOT_TIMEOUT_S if args.analyze else SCREENSHOT_TIMEOUT_S
        job = ScreenshotJob(app, window, args.screenshot, timeout, analyze=args.analyze)
        window.show()
        folder = args.study_dir
        QTimer.singleShot(0, lambda: window.open_folder(folder))
        app.exec()
        window.close()
        window.deleteLater()
        return int(job.exit_code)
    return run_reading_app(app, args, study_loader, recent_studies, segmenter_factory)


def run_reading_app(
    app: QApplication,
    args: argparse.Namespace,
    study_loader: StudyLoader | None,
    recent_studies: RecentStudies | None,
    segmenter_factory: str | None = None,
) -> int:
    """The app with its reading database, settings, autosave and crash marker."""
    data_dir = user_data_dir(args.data_dir)
    settings, problems = load_app_settings(data_dir / SETTINGS_FILENAME)
    store: ReportStore | None
    try:
        store = ReportStore.open(data_dir)
    except StorageError as exc:
        QMessageBox.critical(
            None,
            "Reading database",
            f"{exc}\n\nLSS Desktop opens without it: reports can be drafted but not saved or signed.",
        )
        store = None
    marker = RunMarker(data_dir)
    marker.claim()
    window = MainWindow(
        study_loader=study_loader or load_study_with_engine,
        recent_studies=recent_studies
        or (
            StoreRecentStudies(store, lambda: window.user_name)
            if store is not None
            else MemoryRecentStudies()
        ),
        store=store,
        settings=settings,
        data_dir=data_dir,
        analysis_model=args.model,
        segmenter_factory=segmenter_factory,
    )
    if args.analyze and args.study_dir is not None:
        # The study given on the command line is analysed once it is open.
        window.study_opened.connect(
            lambda _study: QTimer.singleShot(0, window.analyze), Qt.ConnectionType.SingleShotConnection
        )
    window.study_opened.connect(lambda study: marker.note_study(study.study_instance_uid, str(study.root)))
    window.show()
    if problems:
        window.show_message("Settings", "\n".join(problems), QMessageBox.Icon.Warning)
    if args.study_dir is not None:
        folder = args.study_dir
        QTimer.singleShot(0, lambda: window.open_folder(folder))
    else:
        QTimer.singleShot(0, lambda: offer_restore_after_crash(window, data_dir))
    code = app.exec()
    window.close()
    window.deleteLater()
    if store is not None:
        store.close()
    marker.release()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())

"""Opening studies in the window: from a folder through a loader with the engine loader's
signature (progress, cancel, errors, load report), the worklist of recent studies, and the demo."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

import engine.study
from engine.cli.exit_codes import ExitCode
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.recent_studies import RecentStudy, SettingsRecentStudies
from lss_desktop.study_sources import ComponentUnavailableError, load_study_with_engine

pytestmark = pytest.mark.gui


@pytest.fixture
def recent(tmp_path):
    return SettingsRecentStudies(
        QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), limit=3
    )


def test_open_folder_shows_progress_then_the_study_and_its_load_report(
    make_window, qtbot, lumbar, recent, issue_list, tmp_path
):
    folder = tmp_path / "study-a"
    study = lumbar.make_study(matrix=32, issues=issue_list, root=folder)
    loader = lumbar.FakeStudyLoader({folder: study}, hold=True)
    window = make_window(study_loader=loader, recent_studies=recent)
    window.open_folder(folder)
    qtbot.waitUntil(loader.started.is_set, timeout=5000)
    assert window.is_loading and window.progress_bar.isVisible() and window.cancel_button.isVisible()
    with qtbot.waitSignal(window.study_opened, timeout=10_000):
        loader.release.set()
    assert window.session.study is study
    assert not window.progress_bar.isVisible()
    assert loader.calls == [folder]
    # The load report lists each skipped file and why.
    dialog = window.load_report_dialog
    assert dialog is not None and dialog.isVisible()
    cells = [[dialog.table.item(r, c).text() for c in range(3)] for r in range(dialog.table.rowCount())]
    assert ["junk/readme.txt", "skipped", "not a DICOM file"] in cells
    assert ["series9/img0003.dcm", "skipped", "truncated pixel data"] in cells
    assert "2 skipped" in dialog.summary.text()
    # The worklist remembers the study (without patient identifiers).
    assert [e.folder for e in recent.entries()] == [str(folder.resolve())]
    assert window.worklist.topLevelItem(0).text(0) == "MRI lumbar spine"
    assert "Doe" not in str(recent.entries())
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=10_000)
    assert window.open_to_first_image_s is not None and window.open_to_first_image_s > 0


def test_first_image_time_is_reported_once_per_open(make_window, qtbot, lumbar):
    window = make_window()
    with qtbot.waitSignal(window.first_image_shown, timeout=10_000) as shown:
        window.open_study(lumbar.make_study(matrix=16))
    assert shown.args[0] == window.open_to_first_image_s > 0
    reported = []
    window.first_image_shown.connect(reported.append)
    window.session.scroll(ViewSlot.MIDDLE, 1)
    qtbot.waitUntil(window.views_ready, timeout=5000)
    assert reported == []


def test_cancel_stops_the_loader_and_keeps_the_current_study(make_window, qtbot, lumbar, tmp_path):
    shown = lumbar.make_study(matrix=16)
    folder = tmp_path / "big"
    loader = lumbar.FakeStudyLoader({folder: lumbar.make_study(matrix=16)}, hold=True)
    window = make_window(study_loader=loader)
    window.open_study(shown)
    window.open_folder(folder)
    qtbot.waitUntil(loader.started.is_set, timeout=5000)
    window.cancel_button.click()
    qtbot.waitUntil(lambda: loader.saw_cancel, timeout=5000)
    qtbot.waitUntil(lambda: window.runner.running_count == 0, timeout=5000)
    assert window.session.study is shown
    assert not window.is_loading and not window.progress_bar.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()


def test_a_second_open_supersedes_the_first(make_window, qtbot, lumbar, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    studies = {first: lumbar.make_study(matrix=16), second: lumbar.make_study(matrix=16, seed=3)}
    slow = lumbar.FakeStudyLoader(studies, hold=True)
    window = make_window(study_loader=slow)
    window.open_folder(first)
    qtbot.waitUntil(slow.started.is_set, timeout=5000)
    slow.release.set()  # both now finish; only the second may be shown
    with qtbot.waitSignal(window.study_opened, timeout=10_000) as opened:
        window.open_folder(second)
    assert opened.args[0] is studies[second]
    qtbot.waitUntil(lambda: window.runner.running_count == 0, timeout=5000)
    assert window.session.study is studies[second]


def test_a_loader_error_is_shown_with_the_folder_and_the_app_goes_on(make_window, qtbot, lumbar, tmp_path):
    loader = lumbar.FakeStudyLoader({tmp_path: lumbar.make_study(matrix=16)})
    loader.error = ValueError("series 4: inconsistent matrix")
    window = make_window(study_loader=loader)
    with qtbot.waitSignal(window.study_open_failed, timeout=10_000) as failed:
        window.open_folder(tmp_path)
    message, code = failed.args
    assert str(tmp_path) in message and "inconsistent matrix" in message
    assert code == ExitCode.INPUT_INVALID
    assert window.last_message is not None and window.last_message.windowTitle() == "Could not open study"
    window.last_message.close()
    assert window.session.study is None and not window.is_loading


def test_no_dicom_found_gets_its_own_message(make_window, qtbot, tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    window = make_window()  # the engine loader
    with qtbot.waitSignal(window.study_open_failed, timeout=10_000) as failed:
        window.open_folder(tmp_path)
    assert failed.args[1] == ExitCode.NO_DICOM
    assert window.last_message.windowTitle() == "No DICOM images found"
    assert str(tmp_path) in window.last_message.text()
    window.last_message.close()


def test_open_a_dicom_folder_with_the_engine_loader(make_window, qtbot, lumbar, tmp_path, recent):
    folder = lumbar.write_dicom_study(lumbar.make_study(matrix=32, sagittal_t1=True), tmp_path / "study")
    (folder / "junk.dcm").write_bytes(b"DICM but not really")
    window = make_window(recent_studies=recent)
    progress = []
    window.progress_bar.valueChanged.connect(progress.append)
    with qtbot.waitSignal(window.study_opened, timeout=30_000) as opened:
        window.open_folder(folder)
    study = opened.args[0]
    assert [s.description for s in study.series] == [
        "Sag T2 TSE",
        "Ax T2 TSE stack",
        "Ax T2 per disc",
        "Sag T1 TSE",
    ]
    assert progress and max(progress) > 0
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=20_000)
    assert window.session.series_in(ViewSlot.RIGHT).description == "Sag T1 TSE"
    assert window.panels[ViewSlot.LEFT].view.capture_rgb().std() > 20.0
    files = [
        window.load_report_dialog.table.item(r, 0).text()
        for r in range(window.load_report_dialog.table.rowCount())
    ]
    assert any("junk.dcm" in f for f in files)
    assert recent.entries()[0].series_count == 4


def test_the_engine_loader_says_clearly_when_it_is_missing(monkeypatch, tmp_path):
    monkeypatch.delattr(engine.study, "load_study")
    with pytest.raises(ComponentUnavailableError, match=r"engine\.study\.load_study"):
        load_study_with_engine(tmp_path)


def test_the_engine_loader_is_called_with_progress_and_cancel(monkeypatch, tmp_path, lumbar):
    seen = {}

    def load_study(path, *, progress=None, cancel=None):
        seen.update(path=path, progress=progress, cancel=cancel)
        return lumbar.make_study(matrix=16)

    monkeypatch.setattr(engine.study, "load_study", load_study)
    marker = object()
    study = load_study_with_engine(tmp_path, progress=print, cancel=marker)
    assert study.description == "MRI lumbar spine"
    assert seen == {"path": tmp_path, "progress": print, "cancel": marker}


def test_recent_studies_keep_the_newest_first_within_the_limit(recent, tmp_path):
    for name in ("a", "b", "c", "d", "b"):
        recent.remember(
            RecentStudy(str(tmp_path / name), f"study {name}", "20260101", 3, "2026-01-01T10:00:00")
        )
    assert [Path(e.folder).name for e in recent.entries()] == ["b", "d", "c"]
    recent.forget(str(tmp_path / "d"))
    assert [Path(e.folder).name for e in recent.entries()] == ["b", "c"]


def test_a_damaged_recent_list_does_not_stop_the_app(tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("worklist/recent_studies_v1", "{not json")
    recent = SettingsRecentStudies(settings)
    assert recent.entries() == []
    recent.remember(RecentStudy("/x", "x", "", 1, "2026-01-01T10:00:00"))
    assert len(recent.entries()) == 1


def test_activating_a_worklist_entry_opens_that_folder(make_window, qtbot, lumbar, recent, tmp_path):
    folder = tmp_path / "old-study"
    recent.remember(RecentStudy(str(folder), "MRI lumbar spine", "20250101", 3, "2026-01-01T10:00:00"))
    loader = lumbar.FakeStudyLoader({folder: lumbar.make_study(matrix=16)})
    window = make_window(study_loader=loader, recent_studies=recent, show_dialogs=False)
    item = window.worklist.topLevelItem(0)
    assert item.text(1) == "2025-01-01"
    with qtbot.waitSignal(window.study_opened, timeout=10_000):
        window.worklist.itemActivated.emit(item, 0)
    assert loader.calls == [folder]


def test_demo_study_is_written_off_thread_then_opened(make_window, qtbot, lumbar, tmp_path, monkeypatch):
    written = []

    def write_study(out_dir, seed):  # the generator's layout: OUT/study beside OUT/ground_truth
        written.append((Path(out_dir), seed))
        lumbar.write_dicom_study(lumbar.make_study(matrix=24, angled_axial=False), Path(out_dir) / "study")
        (Path(out_dir) / "ground_truth").mkdir()
        (Path(out_dir) / "ground_truth" / "levels.json").write_text("{}")

    monkeypatch.setitem(sys.modules, "engine.synthetic_study", types.SimpleNamespace(write_study=write_study))
    demo = tmp_path / "demo"
    window = make_window(demo_folder=demo, show_dialogs=False)  # the engine loader opens it
    with qtbot.waitSignal(window.study_opened, timeout=20_000) as opened:
        window.demo_action.trigger()
    assert written == [(demo, 0)]
    assert [s.description for s in opened.args[0].series] == ["Sag T2 TSE", "Ax T2 TSE stack"]
    assert opened.args[0].load_report.files_found == opened.args[0].load_report.files_loaded  # images only
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=10_000)
    with qtbot.waitSignal(window.study_opened, timeout=20_000):
        window.demo_action.trigger()  # a second time: the written study is reused
    assert written == [(demo, 0)]


def test_demo_study_unavailable_says_so(make_window, qtbot, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "engine.synthetic_study", None)  # import fails
    window = make_window(demo_folder=tmp_path / "demo")
    window.open_demo_study()
    qtbot.waitUntil(lambda: window.last_message is not None, timeout=5000)
    assert "engine.synthetic_study" in window.last_message.text()
    assert "not part of this build" in window.last_message.text()
    window.last_message.close()


def test_close_study_and_close_window_are_idempotent(make_window, qtbot, lumbar):
    window = make_window()
    window.open_study(lumbar.make_study(matrix=16))
    window.close_study()
    window.close_study()
    assert window.session.study is None
    for view in window.slice_views():
        view.render_now()
        assert view.placeholder_text.GetInput().startswith("No study open")
    window.close()
    window.close()
    for view in window.slice_views():
        assert view._closed

"""Leaving and coming back: unsaved work prompts before closing (Save draft / Discard / Cancel);
after a crash (the real app killed with SIGKILL) the next start offers to restore the last draft,
with the edited masks; the worklist is the reading database's and double-click opens a study."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from engine.reporting.drafting import findings_sentence_id
from lss_desktop.app import offer_restore_after_crash
from lss_desktop.run_marker import unclean_exits

pytestmark = pytest.mark.gui

L45 = findings_sentence_id("L4-L5")
ROOT = Path(__file__).resolve().parents[2]


def press(button):
    def handle(box):
        assert isinstance(box, QMessageBox)
        box.button(button).click()

    return handle


def test_closing_with_unsaved_work_asks_and_honours_each_answer(opened, modal):
    window = opened()
    window.report.edit_sentence(L45, "My words, not saved yet.")
    assert window.has_unsaved_work()

    modal(window.close, press(QMessageBox.StandardButton.Cancel))
    assert window.isVisible()  # cancelled: still open, still unsaved
    assert window.report.dirty

    def check_and_discard(box):
        assert box.windowTitle() == "Unsaved work"
        assert box.button(QMessageBox.StandardButton.Save).text() == "Save draft"
        box.button(QMessageBox.StandardButton.Discard).click()

    modal(window.close, check_and_discard)
    assert not window.isVisible()
    with pytest.raises(KeyError):  # nothing of this study reached the database
        window.store.load_report(window.session.study.study_instance_uid)


def test_save_draft_on_close_stores_the_draft_and_the_findings(opened, modal):
    window = opened()
    window.report.edit_sentence(L45, "My words, saved on close.")
    uid = window.session.study.study_instance_uid
    modal(window.close, press(QMessageBox.StandardButton.Save))
    assert not window.isVisible()
    assert window.store.load_report(uid).draft.sentence(L45).text == "My words, saved on close."
    assert (window.data_dir / "findings" / f"{uid}.json").exists()


def test_after_a_crash_the_next_start_offers_the_last_draft(reading_window, lumbar, qtbot, modal, tmp_path):
    data_dir, study_dir = tmp_path / "data", tmp_path / "study"
    lumbar.write_dicom_study(lumbar.make_study(matrix=96), study_dir)
    words = "Moderate stenosis at L4-L5, my words before the crash."
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("crash_driver.py")),
            str(data_dir),
            str(study_dir),
            words,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = driver.stdout.readline()
        assert line.startswith("READY"), driver.stderr.read() if driver.poll() is not None else line
        edited_area = float(line.split()[1])
    finally:
        driver.send_signal(signal.SIGKILL)  # a crash: no clean exit, the marker stays
        driver.wait(10)
    records = unclean_exits(data_dir)
    assert [r.pid for r in records] == [driver.pid]

    window = reading_window(data_dir=data_dir)

    def restore(box):
        assert box.windowTitle() == "Restore the last draft"
        assert "did not close properly" in box.text() and "mask edits" in box.text()
        box.button(QMessageBox.StandardButton.Yes).click()

    with qtbot.waitSignal(window.study_opened, timeout=30_000):
        assert modal(lambda: offer_restore_after_crash(window, data_dir), restore)
    qtbot.waitUntil(lambda: window.report.draft is not None, timeout=10_000)
    assert window.report.draft.sentence(L45).text == words
    finding = window.session.findings.finding_for("L4-L5")
    assert finding.measured_on_edited_mask and finding.dural_sac_area_mm2 == pytest.approx(edited_area)
    assert window.report_panel.rows[L45].text.toPlainText() == words
    assert unclean_exits(data_dir) == []  # asked once


def test_the_worklist_shows_the_database_and_opens_on_double_click(opened, qtbot, tmp_path, lumbar):
    window = opened(dicom_folder=tmp_path / "study")
    window.save_all_now()
    item = window.worklist.topLevelItem(0)
    assert item.text(0) == "MRI lumbar spine" and item.text(1) == "2026-01-15" and item.text(2) == "Draft"
    window.close_study()
    assert window.session.study is None
    with qtbot.waitSignal(window.study_opened, timeout=30_000):
        window.worklist.itemActivated.emit(window.worklist.topLevelItem(0), 0)
    assert window.session.study.study_instance_uid == lumbar.STUDY_UID
    assert window.report.draft is not None  # the stored draft comes back with the study

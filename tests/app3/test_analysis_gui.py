"""Analyze in the real window under Xvfb: the engine's worker process (a synthetic study's
ground-truth segmenter), progress with the stage, cancel, a killed worker (a clear dialog, nothing
lost, Analyze works again), the per-level table and its navigation, and the updates after a mask
edit."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from app3_oracle import ORACLE, SLOW_ORACLE
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from engine.cli.exit_codes import ExitCode
from engine.findings import DISC_LEVELS
from engine.reporting.drafting import findings_sentence_id
from engine.study.cross_reference import nearest_slice_index
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.level_table import COLUMNS
from lss_desktop.mask_editing import EditTool

pytestmark = pytest.mark.gui

L45 = findings_sentence_id("L4-L5")
MY_WORDS = "Moderate to severe central stenosis at L4-L5, my reading."


def test_analyze_shows_its_stage_and_can_be_cancelled_then_runs_to_the_end(
    opened_study, qtbot, helpers, screenshot_dir, synthetic_study
):
    _, truth = synthetic_study
    window = opened_study(segmenter_factory=SLOW_ORACLE)
    assert window.analysis_status.text().startswith("Not analysed yet")
    window.analyze_action.trigger()
    assert window.is_analysing and not window.analyze_action.isEnabled()
    assert window.analysis_progress_bar.isVisible() and window.analysis_cancel_button.isVisible()
    qtbot.waitUntil(lambda: window.analysis_progress_bar.value() >= 250, timeout=60_000)
    assert window.analysis_progress_label.text().startswith(
        ("Level labelling", "Axial assignment", "Level findings")
    )
    helpers.settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "analysis-1-progress.png")

    with qtbot.waitSignal(window.analysis_failed, timeout=30_000) as failed:
        window.analysis_cancel_button.click()
    assert failed.args[1] == ExitCode.CANCELLED
    assert window.last_message is None  # a cancel is no error: no dialog
    assert window.statusBar().currentMessage() == "Analysis cancelled"
    assert not window.is_analysing and window.analyze_action.isEnabled()
    assert not window.analysis_progress_bar.isVisible()
    assert window.session.findings is None and window.report.draft is None

    window.segmenter_factory = ORACLE
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    findings = window.session.findings
    assert [f.level for f in findings.findings] == list(DISC_LEVELS)
    assert [f.grade for f in findings.findings] == [lv.grade for lv in truth.levels]
    assert window.last_analysis_s is not None and window.last_analysis_s > 0
    assert "Model: ground-truth oracle 1" in window.banner_version.text()
    assert "ground-truth oracle 1" in window.version_label.text()
    assert "analysed in" in window.analysis_status.text()
    assert window.report.draft is not None and window.report_dock.isVisible()
    assert window.report.draft.sentence(L45).evidence.grade == truth.levels[3].grade
    # The views went to the most severe level, whose dural sac shows on the axial view.
    worst = max(findings.findings, key=lambda f: "ABCD".index(f.grade.value))
    assert window.session.selected_level == worst.level
    assert window.session.masks_on(ViewSlot.MIDDLE)
    helpers.wait_idle(qtbot, window)
    helpers.settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "analysis-2-done.png")


def test_a_killed_worker_gives_a_clear_error_and_nothing_is_lost(analysed, qtbot, helpers, screenshot_dir):
    window = analysed()
    session, report = window.session, window.report
    report.edit_sentence(L45, MY_WORDS)
    findings, draft = session.findings, report.draft

    window.segmenter_factory = SLOW_ORACLE
    job = window.analyze()
    qtbot.waitUntil(lambda: "Sagittal segmentation" in window.analysis_progress_label.text(), timeout=60_000)
    os.kill(job.pid, signal.SIGKILL)
    with qtbot.waitSignal(window.analysis_failed, timeout=30_000) as failed:
        pass
    assert failed.args[1] == ExitCode.FAILURE
    box = window.last_message
    assert box is not None and box.isVisible()
    assert box.windowTitle() == "The analysis stopped unexpectedly"
    assert (
        "killed by signal 9" in box.text()
        and "your mask edits and the report draft are unchanged" in box.text()
    )
    qtbot.wait(200)
    QGuiApplication.primaryScreen().grabWindow(0).save(str(screenshot_dir / "analysis-3-worker-killed.png"))
    assert session.findings is findings and report.draft is draft
    assert report.draft.sentence(L45).text == MY_WORDS
    assert not window.is_analysing and window.analyze_action.isEnabled()
    box.accept()

    window.segmenter_factory = ORACLE
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.analyze()
    assert session.findings is not findings
    assert report.draft.sentence(L45).text == MY_WORDS  # a person's words are never replaced


def test_clicking_a_level_moves_both_views_and_the_table_follows_mask_edits(analysed, qtbot, helpers):
    window = analysed()
    session, table = window.session, window.level_table
    assert [table.level_at(r) for r in range(table.rowCount())] == list(DISC_LEVELS)
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert header == list(COLUMNS)
    for level in ("L1-L2", "L3-L4", "L5-S1"):
        row = table.row_of(level)
        QTest.mouseClick(
            table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(row, 1)).center()
        )
        finding = session.findings.finding_for(level)
        disc = next(d for d in session.level_labels if d.label == level)
        sagittal, axial = session.series_in(ViewSlot.LEFT), session.series_in(ViewSlot.MIDDLE)
        assert session.selected_level == level
        assert session.view(ViewSlot.LEFT).slice_index == nearest_slice_index(sagittal, disc.centre_lps)
        assert axial.series_instance_uid == finding.axial_series_uid
        key = axial.slice_index_by_uid(finding.key_slice_sop_instance_uid, finding.key_slice_frame_index)
        assert session.view(ViewSlot.MIDDLE).slice_index == key
    # A click on the row already selected brings the views back to it.
    session.set_slice(ViewSlot.MIDDLE, 0)
    row = table.row_of("L5-S1")
    QTest.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(row, 0)).center()
    )
    assert session.view(ViewSlot.MIDDLE).slice_index == key

    # Erase half the L5-S1 dural sac: its row shows the new, smaller area, marked as edited.
    area_before = float(table.item(row, 3).text())
    (mask,) = [m for m in session.masks_on(ViewSlot.MIDDLE) if m.structure == "dural sac"]
    rows, cols = np.nonzero(mask.mask)
    editor = window.mask_editor
    editor.set_tool(EditTool.ERASER)
    editor.set_size_mm(3.0)
    assert editor.begin_stroke(ViewSlot.MIDDLE)
    for r in range(rows.min(), rows.max() + 1):
        editor.paint(float(r), float(cols.min()))
    editor.end_stroke()
    text = table.item(row, 3).text()
    assert text.endswith("✎") and float(text.rstrip(" ✎")) < area_before
    assert "Measured on a mask edited by a person" in table.item(row, 0).toolTip()
    editor.undo()
    assert float(table.item(row, 3).text()) == area_before

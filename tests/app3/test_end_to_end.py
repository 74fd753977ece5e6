"""One reading from start to finish in the real window: open the demo study (a synthetic lumbar
study from engine.synthetic_study, written by the test where Help > Open demo study looks for it)
-> Analyze (the engine's worker process, with the study's ground-truth segmenter as the model) ->
brush the L4-L5 dural sac on the axial view -> rewrite the L4-L5 sentence -> accept the rest ->
sign final -> export the PDF -> the PDF holds the person's sentence, the re-measured area, the
signer and the model. Screenshots of each step are kept and checked for the overlay colours."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from engine.reporting.drafting import findings_sentence_id
from engine.reporting.model import SentenceProvenance
from engine.reporting.sign_off import ReportStatus
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import EditTool
from lss_desktop.overlays import STRUCTURE_COLOURS
from lss_desktop.sign_off_dialog import SignOffDialog

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(
        shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
    ),
]

L45 = findings_sentence_id("L4-L5")
L34 = findings_sentence_id("L3-L4")
SIGNER = "Dr Grace Hopper"
EDITED = "Severe central canal stenosis at L4-L5 with a trefoil dural sac; correlate clinically."
YELLOW = np.asarray(STRUCTURE_COLOURS["dural sac"])


def looks_yellow(pixel: np.ndarray) -> bool:
    r, g, b = pixel.astype(int)
    return r > b + 80 and g > b + 60


def test_demo_study_analyse_brush_edit_sign_export(
    app_window, qtbot, modal, helpers, tmp_path, screenshot_dir
):
    from engine.synthetic_study import write_study

    demo = tmp_path / "demo"
    truth = write_study(demo, 900_302, "A,A,B,C,A", "angled", max_matrix=256)
    window = app_window(demo_folder=demo, analysis_model=str(demo))
    session = window.session
    with qtbot.waitSignal(window.study_opened, timeout=60_000):
        window.demo_action.trigger()
    helpers.wait_idle(qtbot, window)
    assert session.study.root == truth.study_dir
    helpers.settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "e2e-1-opened.png")

    # Analyze: the worker process; the findings, the table, the draft and the model in the banner.
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        window.analyze_action.trigger()
    helpers.wait_idle(qtbot, window)
    assert [f.grade for f in session.findings.findings] == [lv.grade for lv in truth.levels]
    assert "Model: ground-truth oracle 1" in window.banner_version.text()
    table = window.level_table
    row = table.row_of("L4-L5")
    QTest.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(row, 0)).center()
    )
    assert session.selected_level == "L4-L5"
    helpers.settle(qtbot, window)
    view = window.panels[ViewSlot.MIDDLE].view
    (mask,) = [m for m in session.masks_on(ViewSlot.MIDDLE) if m.structure == "dural sac"]
    rows, cols = np.nonzero(mask.mask)
    r0, c0, half_width = rows.mean(), cols.mean(), (cols.max() - cols.min()) / 2
    shot = view.capture_rgb()
    centre = view.image_to_widget(r0, c0)
    assert looks_yellow(shot[round(centre.y()), round(centre.x())])  # the analysis' mask on screen
    window.save_screenshot(screenshot_dir / "e2e-2-analysed.png")

    # Brush: widen the sac to the right with a mouse stroke on the axial view.
    before = session.findings.finding_for("L4-L5")
    sentence_before = window.report.draft.sentence(L45).text
    view.zoom_by(3.0, view.image_to_widget(r0, c0))
    helpers.settle(qtbot, window)
    QTest.keyClick(view, Qt.Key.Key_B)
    assert window.mask_editor.tool is EditTool.BRUSH
    window.mask_tools.size_spin.setValue(2.0)
    edge = c0 + half_width + 1.5
    stroke = [view.image_to_widget(r0 + dr, edge) for dr in np.linspace(-half_width / 2, half_width / 2, 7)]
    helpers.drag(view, stroke)
    after = session.findings.finding_for("L4-L5")
    assert after.dural_sac_area_mm2 > before.dural_sac_area_mm2 and after.measured_on_edited_mask
    assert table.item(row, 3).text() == f"{after.dural_sac_area_mm2:.0f} ✎"
    sentence_after = window.report.draft.sentence(L45).text
    assert sentence_after != sentence_before and f"{round(after.dural_sac_area_mm2)} mm²" in sentence_after
    helpers.settle(qtbot, window)
    shot = view.capture_rgb()
    brushed = view.image_to_widget(r0, edge)
    assert looks_yellow(shot[round(brushed.y()), round(brushed.x())])
    QTest.keyClick(view, Qt.Key.Key_N)
    window.save_screenshot(screenshot_dir / "e2e-3-mask-brushed.png")

    # The radiologist rewrites the L4-L5 sentence; Ctrl+Enter commits it (it does not re-analyse).
    sentence_row = window.report_panel.rows[L45]
    QTest.mouseClick(sentence_row.text.viewport(), Qt.MouseButton.LeftButton, pos=QPointF(5, 5).toPoint())
    sentence_row.text.selectAll()
    QTest.keyClicks(sentence_row.text, EDITED)
    QTest.keyClick(sentence_row.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.report.draft.sentence(L45).text == EDITED, timeout=3000)
    assert not window.is_analysing
    assert window.report.draft.sentence(L45).provenance is SentenceProvenance.EDITED_BY_PERSON
    window.report_panel.accept_all_button.click()
    assert window.report.sentences_needing_review == ()
    l34_text = window.report.draft.sentence(L34).text

    def sign_final(dialog):
        assert isinstance(dialog, SignOffDialog)
        dialog.name_edit.setText(SIGNER)
        dialog.final_radio.setChecked(True)
        dialog.attest_check.setChecked(True)
        dialog.sign_button.click()

    modal(window.report_panel.sign_button.click, sign_final)
    assert window.report.status is ReportStatus.FINAL
    assert not window.analyze_action.isEnabled()  # a final report: no new analysis can change it
    assert window.analyze() is None
    assert "The report is final" in window.last_message.text()
    window.last_message.accept()
    helpers.settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "e2e-4-signed.png")

    pdf = tmp_path / "export" / "report.pdf"
    task = window.export_pdf(pdf)
    finished = []
    task.signals.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert EDITED in flat
    assert " ".join(l34_text.split()) in flat
    assert SIGNER in flat and "DRAFT" not in flat
    assert "ground-truth oracle" in flat and "Research use only" in flat
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(screenshot_dir / "e2e-5-pdf")],
        check=True,
    )
    events = [e.event_type for e in window.store.audit_trail(session.study.study_instance_uid)]
    assert "signed_final" in events and events[-1] == "report_exported"

"""One reading from start to finish in the real window: open a DICOM folder (a synthetic lumbar study
from engine.synthetic_study, read by the engine's loader) -> findings arrive (built from the study's
ground truth here; Analyze later) -> erase and brush the L4-L5 dural sac with mouse events on the
axial view -> the area and the sentence change -> rewrite a sentence -> accept the rest -> sign
final in the sign-off dialog -> export the PDF -> the PDF holds the edited sentence and the signer.
Screenshots of each step are kept and checked."""

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
EDITED = "Moderate central canal stenosis at L4-L5 with a trefoil dural sac; correlate clinically."


def settle(qtbot, window):
    qtbot.wait(60)
    for view in window.slice_views():
        view.render_now()


def test_open_findings_edit_mask_edit_sentence_sign_export(
    synthetic_reading, gui, qtbot, modal, tmp_path, screenshot_dir
):
    window, truth = synthetic_reading
    session, view = window.session, window.panels[ViewSlot.MIDDLE].view
    assert session.study.root == truth.study_dir
    settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "e2e-1-findings.png")
    before = session.findings.finding_for("L4-L5")
    sentence_before = window.report.draft.sentence(L45).text

    # Erase along the left edge of the sac, then brush back a sliver: mouse events on the real view.
    (mask,) = [m for m in session.masks_on(ViewSlot.MIDDLE) if m.structure == "dural sac"]
    rows, cols = np.nonzero(mask.mask)
    r0, c0, half_width = rows.mean(), cols.mean(), (cols.max() - cols.min()) / 2
    view.zoom_by(3.5, view.image_to_widget(r0, c0))  # as a reader would, to see the sac's edge
    settle(qtbot, window)
    QTest.keyClick(view, Qt.Key.Key_E)
    assert window.mask_editor.tool is EditTool.ERASER
    window.mask_tools.size_spin.setValue(3.0)
    points = [
        view.image_to_widget(r0 + dr, c0 - half_width + 1) for dr in np.linspace(-half_width, half_width, 9)
    ]
    gui.drag(view, points)
    erased = session.findings.finding_for("L4-L5")
    QTest.keyClick(view, Qt.Key.Key_B)
    window.mask_tools.size_spin.setValue(1.0)
    sliver = (r0 - half_width / 2, c0 - half_width + 1)
    gui.drag(view, [view.image_to_widget(*sliver), view.image_to_widget(sliver[0] + 1, sliver[1])])
    after = session.findings.finding_for("L4-L5")
    assert erased.dural_sac_area_mm2 < after.dural_sac_area_mm2 < 0.92 * before.dural_sac_area_mm2
    assert after.measured_on_edited_mask
    sentence_after = window.report.draft.sentence(L45).text
    assert sentence_after != sentence_before and f"{round(after.dural_sac_area_mm2)} mm²" in sentence_after
    settle(qtbot, window)
    shot = view.capture_rgb()
    erased_point = view.image_to_widget(r0, c0 - half_width + 1)
    kept_point = view.image_to_widget(r0, c0 + half_width / 2)
    r, g, b = shot[round(erased_point.y()), round(erased_point.x())].astype(int)
    assert not (r > b + 80 and g > b + 60)  # no yellow where the sac was erased
    r, g, b = shot[round(kept_point.y()), round(kept_point.x())].astype(int)
    assert r > b + 80 and g > b + 60  # yellow where it remains
    window.save_screenshot(screenshot_dir / "e2e-2-mask-edited.png")

    # The radiologist rewrites the L4-L5 sentence in the editor.
    row = window.report_panel.rows[L45]
    QTest.mouseClick(row.text.viewport(), Qt.MouseButton.LeftButton, pos=QPointF(5, 5).toPoint())
    assert session.selected_level == "L4-L5"
    row.text.selectAll()
    QTest.keyClicks(row.text, EDITED)
    QTest.keyClick(row.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.report.draft.sentence(L45).text == EDITED, timeout=3000)
    assert window.report.draft.sentence(L45).provenance is SentenceProvenance.EDITED_BY_PERSON
    window.report_panel.rows[L34].accept_button.click()
    window.report_panel.accept_all_button.click()
    assert window.report.sentences_needing_review == ()
    settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "e2e-3-reviewed.png")

    def sign_final(dialog):
        assert isinstance(dialog, SignOffDialog)
        dialog.name_edit.setText(SIGNER)
        dialog.final_radio.setChecked(True)
        dialog.attest_check.setChecked(True)
        dialog.sign_button.click()

    modal(window.report_panel.sign_button.click, sign_final)
    assert window.report.status is ReportStatus.FINAL
    settle(qtbot, window)
    window.report_panel.scroll.ensureWidgetVisible(window.report_panel.signature)
    settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "e2e-4-signed.png")

    pdf = tmp_path / "export" / "report.pdf"
    task = window.export_pdf(pdf)
    finished = []
    task.signals.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    qtbot.wait(10)
    assert window.opened_locations == [pdf.parent]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert EDITED in flat
    assert SIGNER in flat
    assert "DRAFT" not in flat
    assert "Research use only" in flat
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(screenshot_dir / "e2e-5-pdf")],
        check=True,
    )
    events = [e.event_type for e in window.store.audit_trail(session.study.study_instance_uid)]
    assert events[0] == "study_opened" and "signed_final" in events and events[-1] == "report_exported"
    assert window.store.verify_audit_chain().ok

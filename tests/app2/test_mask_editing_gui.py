"""Mask editing in the real window under Xvfb: brush and eraser driven by mouse events on the VTK
views (axial and sagittal), the overlay colours in screenshots where the mask is and is no more,
the brush outline, Ctrl+Z / Ctrl+Y, the numbers and the report sentence following each stroke,
and the lock once the report is final."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from engine.findings import Structure
from engine.reporting.drafting import findings_sentence_id
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import EditTool
from lss_desktop.overlays import structure_colour

pytestmark = pytest.mark.gui

L45 = findings_sentence_id("L4-L5")


def sac_on(window, slot=ViewSlot.MIDDLE, structure=Structure.DURAL_SAC.value):
    (mask,) = [m for m in window.session.masks_on(slot) if m.structure == structure]
    return mask


def widget_point(view, row, column) -> QPointF:
    return view.image_to_widget(row, column)


def colour_at(shot, point: QPointF):
    return shot[round(point.y()), round(point.x())].astype(int)


def is_yellow(rgb) -> bool:
    r, g, b = rgb
    return r > b + 80 and g > b + 60


def test_eraser_strokes_update_area_sentence_and_overlay_at_once(opened, gui, qtbot, screenshot_dir):
    window = opened(matrix=128)
    view = window.panels[ViewSlot.MIDDLE].view
    session = window.session
    before = session.findings.finding_for("L4-L5")
    sentence_before = window.report.draft.sentence(L45).text
    mask = sac_on(window)
    rows, cols = np.nonzero(mask.mask)
    centre_r, centre_c = rows.mean(), cols.mean()
    window.tool_actions[EditTool.ERASER].trigger()
    window.mask_tools.size_spin.setValue(5.0)
    assert window.mask_editor.tool is EditTool.ERASER and window.mask_editor.size_mm == 5.0

    # A horizontal stroke across the left half of the sac.
    start = widget_point(view, centre_r, centre_c - 5)
    end = widget_point(view, centre_r, centre_c)
    gui.drag(view, [start, QPointF((start.x() + end.x()) / 2, start.y()), end])

    after = session.findings.finding_for("L4-L5")
    assert after.dural_sac_area_mm2 < before.dural_sac_area_mm2 - 10
    assert after.measured_on_edited_mask and sac_on(window).edited_by_person
    sentence = window.report.draft.sentence(L45).text
    assert sentence != sentence_before and f"{round(after.dural_sac_area_mm2)} mm²" in sentence
    row = window.report_panel.rows[L45]
    assert row.text.toPlainText() == sentence  # the editor shows it without waiting
    assert "L4-L5: dural sac" in window.mask_tools.readout.text()
    assert window.undo_action.isEnabled() and not window.redo_action.isEnabled()

    view.render_now()
    shot = view.capture_rgb()
    window.save_screenshot(screenshot_dir / "mask-erased.png")
    assert not is_yellow(colour_at(shot, widget_point(view, centre_r, centre_c - 3)))  # erased
    assert is_yellow(colour_at(shot, widget_point(view, centre_r, centre_c + 4)))  # still sac

    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)  # window shortcuts need it
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.findings.finding_for("L4-L5") == before
    assert window.report.draft.sentence(L45).text == sentence_before
    view.render_now()
    assert is_yellow(colour_at(view.capture_rgb(), widget_point(view, centre_r, centre_c - 3)))
    QTest.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert session.findings.finding_for("L4-L5") == after


def test_brush_on_the_sagittal_paints_the_structure_selected_in_the_legend(opened, gui, screenshot_dir):
    window = opened()
    view = window.panels[ViewSlot.LEFT].view
    legend = window.overlay_panel.legend
    canal_item = next(
        legend.item(i) for i in range(legend.count()) if legend.item(i).text() == "spinal canal"
    )
    legend.setCurrentItem(canal_item)
    assert window.mask_editor.structure == "spinal canal"
    assert "spinal canal" in window.mask_tools.structure_label.text()
    canal = sac_on(window, ViewSlot.LEFT, "spinal canal")
    painted_before = int(canal.mask.sum())
    rows, cols = np.nonzero(canal.mask)
    window.tool_actions[EditTool.BRUSH].trigger()
    window.mask_editor.set_size_mm(6.0)
    # Paint anterior of the canal (outside it) at mid height.
    target_r, target_c = rows.mean(), cols.min() - 4
    gui.drag(view, [widget_point(view, target_r - 3, target_c), widget_point(view, target_r + 3, target_c)])

    edited = sac_on(window, ViewSlot.LEFT, "spinal canal")
    assert edited.edited_by_person and int(edited.mask.sum()) > painted_before
    assert edited.mask[round(target_r), round(target_c)]
    view.render_now()
    r, g, b = colour_at(view.capture_rgb(), widget_point(view, target_r, target_c))
    cyan = structure_colour("spinal canal")
    assert b > r + 60 and g > r + 40, ((r, g, b), cyan)
    window.save_screenshot(screenshot_dir / "mask-sagittal-brush.png")


def test_the_brush_outline_follows_the_cursor_at_its_size_in_mm(opened, gui):
    window = opened(matrix=128)
    view = window.panels[ViewSlot.MIDDLE].view
    window.tool_actions[EditTool.BRUSH].trigger()
    window.mask_editor.set_size_mm(20.0)
    geometry = window.session.current_geometry(ViewSlot.MIDDLE)
    centre_r, centre_c = geometry.rows / 2, geometry.columns / 2 + 20
    gui.send_mouse(view, "move", widget_point(view, centre_r, centre_c))
    view.render_now()
    shot = view.capture_rgb().astype(int)
    radius_px = 10.0 / geometry.pixel_spacing_mm[1]
    on_ring = widget_point(view, centre_r, centre_c + radius_px)
    inside = widget_point(view, centre_r, centre_c + radius_px / 2)
    ring_brightness = max(
        shot[round(on_ring.y()) + dy, round(on_ring.x()) + dx].min() for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )
    assert ring_brightness > 200  # white outline 10 mm from the cursor
    assert shot[round(inside.y()), round(inside.x())].min() < 200
    QTest.keyClick(view, Qt.Key.Key_BracketRight)
    assert window.mask_editor.size_mm == 20.5 and window.mask_tools.size_spin.value() == 20.5
    window.tool_actions[EditTool.NAVIGATE].trigger()
    assert not view.brush_actor.GetVisibility()


def test_a_final_report_locks_the_masks(opened, gui):
    window = opened()
    window.report.accept_all()
    from engine.reporting.sign_off import ReportStatus
    from lss_desktop.sign_off_dialog import SignOffRequest

    assert window.sign_report(SignOffRequest(ReportStatus.FINAL, "Dr Ada Lovelace", "I attest."))
    assert window.mask_editor.locked_reason is not None
    assert window.mask_tools.notice.isVisible() and "final" in window.mask_tools.notice.text()
    view = window.panels[ViewSlot.MIDDLE].view
    assert not window.tool_actions[EditTool.ERASER].isEnabled()
    assert window.mask_editor.tool is EditTool.NAVIGATE and not window.undo_action.isEnabled()
    window.mask_editor.set_tool(EditTool.ERASER)  # even when chosen without the toolbar
    before = window.session.findings
    mask = sac_on(window)
    rows, cols = np.nonzero(mask.mask)
    gui.drag(view, [widget_point(view, rows.mean(), cols.mean())])
    assert window.session.findings is before
    assert "final" in window.statusBar().currentMessage()

"""The prompt box (text-guided segmentation of the active view's slices, off the GUI thread, shown as
a structure of its own with its provenance) and level labels dragged on the sagittal (the levels
are counted again from the disc a label is dropped on, in the worker; the findings and the report
follow, a person's sentence is flagged, never overwritten)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from engine.reporting.drafting import findings_sentence_id
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.overlays import STRUCTURE_COLOURS, structure_colour

pytestmark = pytest.mark.gui

PROMPT = "dural sac at L3-L4"
L45 = findings_sentence_id("L4-L5")
MY_WORDS = "Severe central canal stenosis at L4-L5 with a trefoil sac; my words."


def overlay_colour(with_mask: np.ndarray, without: np.ndarray, alpha: float) -> np.ndarray:
    """The overlay colour behind a blended pixel: (shown - (1 - alpha) * image) / alpha."""
    return (with_mask.astype(float) - (1.0 - alpha) * without.astype(float)) / alpha


def test_a_prompt_segments_the_active_views_slices_and_shows_with_its_provenance(
    analysed, qtbot, helpers, screenshot_dir
):
    window = analysed()
    session, view = window.session, window.panels[ViewSlot.MIDDLE].view
    session.go_to_level("L3-L4", show_key_series=True)
    view.activated.emit(ViewSlot.MIDDLE)
    box = window.prompt_box
    assert PROMPT in box.edit.completer().model().stringList()
    QTest.keyClicks(box.edit, PROMPT)
    box.range_spin.setValue(1)
    QTest.keyClick(box.edit, Qt.Key.Key_Return)
    assert not box.segment_button.isEnabled() and "Segmenting “dural sac at L3-L4”" in box.status.text()
    qtbot.waitUntil(lambda: box.segment_button.isEnabled(), timeout=30_000)
    masks = session.prompt_masks
    key = session.view(ViewSlot.MIDDLE).slice_index
    series = session.series_in(ViewSlot.MIDDLE)
    assert [series.slice_index_by_uid(m.sop_instance_uid) for m in masks] == [key - 1, key, key + 1]
    assert all(m.structure == PROMPT and m.provenance.model_name == "ground-truth oracle" for m in masks)
    assert dict(masks[1].provenance.parameters)["prompt"] == PROMPT
    assert "3 image(s)" in box.status.text() and "ground-truth oracle 1" in box.status.text()
    assert all(m.structure != PROMPT for m in session.findings.masks)  # shown, not a finding

    legend = window.overlay_panel.legend
    item = next(legend.item(r) for r in range(legend.count()) if legend.item(r).text() == PROMPT)
    assert (
        "Segmented from the prompt “dural sac at L3-L4” by ground-truth oracle 1 on 3 image(s)"
        in item.toolTip()
    )
    assert "not part of the findings or the report" in item.toolTip()

    # On screen: where the prompt's mask is, the overlay has the prompt's colour (not the yellow of
    # the analysis' dural sac under it); the rest of the image is untouched.
    helpers.settle(qtbot, window)
    shown = view.capture_rgb()
    window.overlay_panel.masks_check.setChecked(False)
    plain = view.capture_rgb()
    window.overlay_panel.masks_check.setChecked(True)
    mask = masks[1].mask
    rows, cols = np.nonzero(mask)
    inside = [view.image_to_widget(r, c) for r, c in zip(rows[::7], cols[::7], strict=True)]
    colours = np.array(
        [
            overlay_colour(shown[round(p.y()), round(p.x())], plain[round(p.y()), round(p.x())], 0.45)
            for p in inside
        ]
    )
    assert np.abs(np.median(colours, axis=0) - structure_colour(PROMPT)).max() < 30
    assert structure_colour(PROMPT) != STRUCTURE_COLOURS["dural sac"]
    window.save_screenshot(screenshot_dir / "prompt-segmentation.png")

    box.clear_button.click()
    assert session.prompt_masks == () and PROMPT not in [legend.item(r).text() for r in range(legend.count())]


def test_dragging_a_level_label_onto_another_disc_relabels_the_findings_and_the_report(
    analysed, qtbot, helpers, screenshot_dir, synthetic_study
):
    _, truth = synthetic_study
    window = analysed()
    session, report, view = window.session, window.report, window.panels[ViewSlot.LEFT].view
    report.edit_sentence(L45, MY_WORDS)
    before = {f.level: f for f in session.findings.findings}
    l45_disc = next(d for d in session.level_labels if d.label == "L4-L5")
    placed = {p.level.label: p for p in session.level_labels_on(ViewSlot.LEFT)}
    start = view.image_to_widget(placed["L5-S1"].row, placed["L5-S1"].column)
    end = view.image_to_widget(placed["L4-L5"].row, placed["L4-L5"].column)
    path = [start + (end - start) * t for t in np.linspace(0.0, 1.0, 6)]
    helpers.drag(view, path)
    assert window.is_analysing and window.analysis_progress_label.text().startswith("Relabelling")
    assert "L4-L5 → L5-S1" in window.analysis_progress_label.toolTip()
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        pass
    helpers.wait_idle(qtbot, window)
    after = {f.level: f for f in session.findings.findings}
    # The disc that was L4-L5 is L5-S1 now; its sac stays, its grade is read again by that name.
    relabelled = next(d for d in session.level_labels if d.centre_lps == l45_disc.centre_lps)
    assert relabelled.label == "L5-S1" and relabelled.label_overridden
    assert after["L5-S1"].dural_sac_area_mm2 == pytest.approx(before["L4-L5"].dural_sac_area_mm2)
    assert after["L5-S1"].grade == truth.levels[4].grade
    assert after["L4-L5"].dural_sac_area_mm2 == pytest.approx(before["L3-L4"].dural_sac_area_mm2)
    # The person's sentence keeps their words and is flagged, with what the software writes now.
    sentence = report.draft.sentence(L45)
    assert sentence.text == MY_WORDS and sentence.stale_reason is not None and sentence.suggestion is not None
    assert "L4-L5" in sentence.suggestion.text
    table = window.level_table
    assert table.item(table.row_of("L5-S1"), 0).text() == "L5-S1 *"
    assert "labels set by a person" in window.analysis_status.text()
    assert "Levels relabelled" in window.statusBar().currentMessage()
    helpers.settle(qtbot, window)
    window.save_screenshot(screenshot_dir / "label-dragged-relabelled.png")

    # A label dropped where there is no disc goes back, and says why.
    labels = session.level_labels
    placed = {p.level.label: p for p in session.level_labels_on(ViewSlot.LEFT)}
    start = view.image_to_widget(placed["L2-L3"].row, placed["L2-L3"].column)
    helpers.drag(view, [start, QPointF(start.x() + 30, start.y()), QPointF(start.x() + 60, start.y())])
    assert not window.is_analysing
    assert session.level_labels == labels
    assert window.statusBar().currentMessage().startswith("Level labels unchanged: L2-L3 was dropped")

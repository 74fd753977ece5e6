"""Mask editing without Qt: the brush footprint in millimetres, painting and erasing per structure,
re-measuring the level at once (area, AP diameter, agreement, confidence, edited flags), and
undo/redo kept as pixel diffs across slices."""

from __future__ import annotations

import numpy as np
import pytest

from engine.findings import Structure
from engine.measurements import measure_dural_sac
from engine.measurements.after_mask_edit import (
    AREA_DISAGREEMENT_WARNING,
    DISAGREEMENT_CONFIDENCE_FACTOR,
    findings_with_edited_masks,
    remeasured_finding,
)
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import EditTool, MaskEditor, stroke_footprint
from lss_desktop.session import ViewerSession

# ---- the brush footprint -------------------------------------------------------------------


def test_the_brush_is_a_circle_in_millimetres_on_anisotropic_pixels():
    spacing = (0.5, 1.0)  # rows 0.5 mm apart, columns 1 mm apart
    indices = stroke_footprint(None, (50.0, 50.0), 10.0, spacing, (100, 100))
    rows, cols = np.divmod(indices, 100)
    assert rows.max() - rows.min() == 20  # 5 mm radius = 10 rows either side
    assert cols.max() - cols.min() == 10  # = 5 columns either side
    area_mm2 = len(indices) * spacing[0] * spacing[1]
    assert area_mm2 == pytest.approx(np.pi * 5.0**2, rel=0.06)
    assert np.all(np.diff(indices) > 0)


def test_the_smallest_brush_still_paints_the_pixel_under_it_and_the_image_clips_it():
    assert list(stroke_footprint(None, (3.2, 4.4), 0.1, (1.0, 1.0), (10, 10))) == [3 * 10 + 4]
    corner = stroke_footprint(None, (0.0, 0.0), 6.0, (1.0, 1.0), (10, 10))
    rows, cols = np.divmod(corner, 10)
    assert rows.min() == 0 and cols.min() == 0 and len(corner) < np.pi * 9
    assert len(stroke_footprint(None, (-50.0, -50.0), 4.0, (1.0, 1.0), (10, 10))) == 0


def test_a_fast_drag_paints_a_continuous_band():
    indices = stroke_footprint((10.0, 5.0), (10.0, 85.0), 3.0, (1.0, 1.0), (20, 100))
    rows, cols = np.divmod(indices, 100)
    assert set(range(4, 87)) <= set(cols[rows == 10])  # no gaps between the mouse positions


# ---- painting, measuring, undo -------------------------------------------------------------


@pytest.fixture
def editing(lumbar):
    """A session on the phantom with findings, the middle view on L4-L5's key slice."""
    study = lumbar.make_study(matrix=64)
    findings = lumbar.level_findings(study)
    session = ViewerSession()
    session.set_study(study)
    session.set_findings(findings)
    series_index, slice_index = lumbar.key_slice_index(study, findings, "L4-L5")
    session.show_series(ViewSlot.MIDDLE, study.series[series_index].key)
    session.set_slice(ViewSlot.MIDDLE, slice_index)
    editor = MaskEditor(session)
    edited = []
    session.events.findings_edited.connect(lambda f, levels: edited.append(levels))
    return session, editor, findings, edited


def sac_centre(session, slot=ViewSlot.MIDDLE):
    (mask,) = [m for m in session.masks_on(slot) if m.structure == Structure.DURAL_SAC.value]
    rows, cols = np.nonzero(mask.mask)
    return mask, float(rows.mean()), float(cols.mean())


def stroke(editor, slot, points):
    assert editor.begin_stroke(slot)
    for row, column in points:
        editor.paint(row, column)
    return editor.end_stroke()


def test_erasing_the_sac_remeasures_the_level_at_once_and_marks_it_edited(editing, lumbar):
    session, editor, original, edited = editing
    mask, row, col = sac_centre(session)
    before = original.finding_for("L4-L5")
    editor.set_tool(EditTool.ERASER)
    editor.set_size_mm(6.0)

    assert editor.begin_stroke(ViewSlot.MIDDLE)
    changed = editor.paint(row, col)
    assert changed > 0
    # The first dab already put the live mask in the findings and re-measured the level.
    after_first = session.findings.finding_for("L4-L5")
    assert after_first.dural_sac_area_mm2 < before.dural_sac_area_mm2
    editor.paint(row, col + 3)
    assert editor.flush() == ("L4-L5",)
    done = editor.end_stroke()

    finding = session.findings.finding_for("L4-L5")
    live = next(m for m in session.findings.masks if m.sop_instance_uid == mask.sop_instance_uid)
    geometry = session.current_geometry(ViewSlot.MIDDLE)
    expected = measure_dural_sac(live.mask, geometry, original.levels[3].normal_lps)
    assert finding.dural_sac_area_mm2 == pytest.approx(expected.dural_sac_area_mm2)
    assert finding.ap_diameter_mm == pytest.approx(expected.ap_diameter_mm)
    assert finding.measured_on_edited_mask and live.edited_by_person
    assert not original.finding_for("L4-L5").measured_on_edited_mask
    assert mask.mask.sum() == original.masks[3].mask.sum()  # the analysis' own array is untouched
    assert edited[-1] == ("L4-L5",)
    # The undo entry is a diff of the erased pixels, not a copy of the mask.
    (diff,) = done.diffs
    assert len(diff.indices) == mask.mask.sum() - live.mask.sum() < mask.mask.size // 10
    assert diff.old_values.all() and not diff.new_values.any()


def test_the_brush_paints_the_selected_structure_and_adds_a_mask_where_there_was_none(editing):
    session, editor, original, edited = editing
    _, row, col = sac_centre(session)
    editor.set_tool(EditTool.BRUSH)
    editor.set_structure("posterior epidural fat")
    stroke(editor, ViewSlot.MIDDLE, [(row + 9, col - 3), (row + 9, col + 3)])
    fat = [m for m in session.masks_on(ViewSlot.MIDDLE) if m.structure == "posterior epidural fat"]
    assert len(fat) == 1 and fat[0].edited_by_person and fat[0].mask.any()
    # Not the measured structure: the level's numbers do not move.
    assert session.findings.finding_for("L4-L5") == original.finding_for("L4-L5")
    assert edited[-1] == ()


def test_grade_and_area_agreement_and_confidence_follow_the_edit(editing, lumbar):
    session, editor, original, _ = editing
    _, row, col = sac_centre(session)
    editor.set_structure(Structure.DURAL_SAC.value)
    editor.set_tool(EditTool.ERASER)
    editor.set_size_mm(12.0)
    stroke(editor, ViewSlot.MIDDLE, [(row - 2, col - 6), (row + 2, col + 6)])
    finding = session.findings.finding_for("L4-L5")  # grade B
    assert finding.dural_sac_area_mm2 < 75.0
    assert AREA_DISAGREEMENT_WARNING not in finding.warnings  # B fits absolute stenosis by area
    assert finding.confidence == pytest.approx(finding.probability(finding.grade))

    # The same erasure at a grade A level contradicts the area: flagged, confidence lowered.
    _series_index, slice_index = lumbar.key_slice_index(session.study, original, "L3-L4")
    session.set_slice(ViewSlot.MIDDLE, slice_index)
    _, row, col = sac_centre(session)
    stroke(editor, ViewSlot.MIDDLE, [(row - 2, col - 6), (row + 2, col + 6)])
    l3 = session.findings.finding_for("L3-L4")
    assert l3.dural_sac_area_mm2 < 75.0
    assert AREA_DISAGREEMENT_WARNING in l3.warnings
    assert l3.confidence == pytest.approx(l3.probability(l3.grade) * DISAGREEMENT_CONFIDENCE_FACTOR)


def test_undo_and_redo_across_slices_restore_masks_and_numbers_exactly(editing, lumbar):
    session, editor, original, _ = editing
    editor.set_tool(EditTool.ERASER)
    _, row, col = sac_centre(session)
    stroke(editor, ViewSlot.MIDDLE, [(row, col)])
    l45_after = session.findings.finding_for("L4-L5")
    _, l34_index = lumbar.key_slice_index(session.study, original, "L3-L4")
    l45_index = session.view(ViewSlot.MIDDLE).slice_index
    session.set_slice(ViewSlot.MIDDLE, l34_index)
    _, row, col = sac_centre(session)
    stroke(editor, ViewSlot.MIDDLE, [(row, col), (row + 2, col)])
    assert editor.can_undo and not editor.can_redo

    editor.undo()  # L3-L4 back to the analysis' mask and numbers
    assert session.findings.finding_for("L3-L4") == original.finding_for("L3-L4")
    assert session.findings.finding_for("L4-L5") == l45_after
    editor.session.set_slice(ViewSlot.MIDDLE, 0)
    editor.undo()  # L4-L5 too, and the view goes to where that stroke was made
    assert session.view(ViewSlot.MIDDLE).slice_index == l45_index
    assert session.findings.finding_for("L4-L5") == original.finding_for("L4-L5")
    assert [m.mask.sum() for m in session.findings.masks] == [m.mask.sum() for m in original.masks]
    assert all(a is b for a, b in zip(session.findings.masks, original.masks, strict=True))
    assert not editor.can_undo and editor.can_redo

    editor.redo()
    editor.redo()
    assert session.findings.finding_for("L4-L5") == l45_after
    assert session.findings.finding_for("L3-L4").measured_on_edited_mask
    assert session.view(ViewSlot.MIDDLE).slice_index == l34_index


def test_a_stroke_that_changes_nothing_is_not_kept_and_leaves_the_findings_alone(editing):
    session, editor, original, _ = editing
    editor.set_tool(EditTool.BRUSH)
    _, row, col = sac_centre(session)
    assert stroke(editor, ViewSlot.MIDDLE, [(row, col)]) is None  # painting inside the sac changes nothing
    assert not editor.can_undo
    assert session.findings.masks[3] is original.masks[3]

    editor.set_tool(EditTool.ERASER)
    editor.begin_stroke(ViewSlot.MIDDLE)
    editor.paint(row, col)
    editor.set_tool(EditTool.BRUSH)  # ends the stroke: kept
    assert editor.can_undo


def test_edits_are_refused_with_a_reason_when_they_cannot_apply(editing):
    session, editor, _, _ = editing
    reasons = []
    editor.events.edit_refused.connect(reasons.append)
    assert not editor.begin_stroke(ViewSlot.MIDDLE)  # navigate tool: no painting, no message
    editor.set_tool(EditTool.BRUSH)
    editor.set_locked("The report is final.")
    assert not editor.begin_stroke(ViewSlot.MIDDLE)
    editor.set_locked(None)
    assert not editor.begin_stroke(ViewSlot.RIGHT)  # an empty view
    session.set_findings(None)
    assert not editor.begin_stroke(ViewSlot.MIDDLE)
    assert reasons == [
        "The report is final.",
        "This view shows no image with geometry to paint on.",
        "There are no findings to edit yet: analyse the study first.",
    ]


def test_new_findings_clear_the_history(editing, lumbar):
    session, editor, _original, _ = editing
    editor.set_tool(EditTool.ERASER)
    _, row, col = sac_centre(session)
    stroke(editor, ViewSlot.MIDDLE, [(row, col)])
    assert editor.can_undo
    session.set_findings(lumbar.level_findings(session.study))
    assert not editor.can_undo and not editor.can_redo


def test_snapshot_copies_the_masks_for_other_threads(editing):
    session, editor, _, _ = editing
    editor.set_tool(EditTool.ERASER)
    _, row, col = sac_centre(session)
    stroke(editor, ViewSlot.MIDDLE, [(row, col)])
    snapshot = editor.snapshot_findings()
    for shown, copied in zip(session.findings.masks, snapshot.masks, strict=True):
        assert copied.mask is not shown.mask and np.array_equal(copied.mask, shown.mask)


# ---- the engine's re-measurement -----------------------------------------------------------


def test_an_emptied_mask_leaves_the_level_unmeasured_not_zero(lumbar):
    study = lumbar.make_study(matrix=48)
    findings = lumbar.level_findings(study)
    sac = findings.masks[0]
    empty = type(sac)(
        sac.structure, sac.series_instance_uid, sac.sop_instance_uid, None, np.zeros_like(sac.mask)
    )
    changed, levels = findings_with_edited_masks(findings, [empty], study)
    assert levels == ("L1-L2",)
    finding = changed.finding_for("L1-L2")
    assert finding.dural_sac_area_mm2 is None and finding.ap_diameter_mm is None
    assert finding.measured_on_edited_mask


def test_remeasuring_corrects_for_an_oblique_slice(lumbar):
    study = lumbar.make_study(matrix=48)
    findings = lumbar.level_findings(study)
    sac = findings.masks[4]  # L5-S1, stack tilted 18 degrees like its disc
    geometry = next(
        s.geometry
        for series in study.series
        for s in series.slices
        if s.sop_instance_uid == sac.sop_instance_uid
    )
    finding = findings.finding_for("L5-S1")
    along_disc = remeasured_finding(finding, sac, geometry, findings.levels[4].normal_lps)
    along_body_axis = remeasured_finding(finding, sac, geometry, (0.0, 0.0, 1.0))
    assert along_disc.dural_sac_area_mm2 == pytest.approx(finding.dural_sac_area_mm2)
    assert along_body_axis.dural_sac_area_mm2 == pytest.approx(
        along_disc.dural_sac_area_mm2 * np.cos(np.radians(18.0)), rel=1e-3
    )

"""Brush latency: from a stroke to the updated area, AP diameter and report sentence (goal < 50 ms).

Printed, not asserted (run with `-m benchmark -s`):
- the Qt-free pipeline per dab (paint + re-measure + findings to the session + redraft), for axial
  matrices of 256 and 512;
- in the real window under Xvfb: a mouse-move event on the axial view until the numbers and the
  sentence are updated (the flush of that event-loop turn), and until the next frame is rendered.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.reporting.drafting import findings_sentence_id
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import EditTool, MaskEditor
from lss_desktop.report_session import ReportSession
from lss_desktop.session import ViewerSession

pytestmark = pytest.mark.benchmark

L45 = findings_sentence_id("L4-L5")
DABS = 60


def stats(samples_s: list[float]) -> str:
    ms = np.asarray(samples_s) * 1000.0
    return f"median {np.median(ms):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms, max {ms.max():.2f} ms (n={len(ms)})"


def dab_path(mask: np.ndarray) -> list[tuple[float, float]]:
    """Points across the sac, alternating sides, so every dab erases new pixels."""
    rows, cols = np.nonzero(mask)
    r0, c0 = rows.mean(), cols.mean()
    radius = (cols.max() - cols.min()) / 2
    angles = np.linspace(0, 6 * np.pi, DABS)
    return [
        (r0 + 0.8 * radius * np.sin(a), c0 + 0.8 * radius * np.cos(a) * (i / DABS))
        for i, a in enumerate(angles)
    ]


@pytest.mark.parametrize("matrix", [256, 512])
def test_brush_pipeline_latency_without_qt(lumbar, store, matrix):
    study = lumbar.make_study(matrix=64, axial_matrix=matrix)
    session = ViewerSession()
    report = ReportSession(session, store, lumbar.PERSON)
    session.set_study(study)
    session.set_findings(lumbar.level_findings(study))
    series_index, slice_index = lumbar.key_slice_index(study, session.findings, "L4-L5")
    session.show_series(ViewSlot.MIDDLE, study.series[series_index].key)
    session.set_slice(ViewSlot.MIDDLE, slice_index)
    editor = MaskEditor(session)
    editor.set_tool(EditTool.ERASER)
    editor.set_size_mm(1.5)
    (mask,) = [m for m in session.masks_on(ViewSlot.MIDDLE) if m.structure == "dural sac"]
    path = dab_path(mask.mask)
    editor.begin_stroke(ViewSlot.MIDDLE)
    paint_s, update_s = [], []
    for row, column in path:
        start = time.perf_counter()
        changed = editor.paint(row, column)
        painted = time.perf_counter()
        editor.flush()
        done = time.perf_counter()
        if changed:
            paint_s.append(painted - start)
            update_s.append(done - start)
    editor.end_stroke()
    area = session.findings.finding_for("L4-L5").dural_sac_area_mm2
    assert f"{round(area)} mm²" in report.draft.sentence(L45).text
    print(f"\n[brush latency, Qt-free, axial {matrix}x{matrix}] paint only: {stats(paint_s)}")
    print(
        f"[brush latency, Qt-free, axial {matrix}x{matrix}] stroke -> area, AP, sentence: {stats(update_s)}"
    )


@pytest.mark.gui
def test_brush_latency_in_the_window(opened, gui):
    window = opened(matrix=256)
    view = window.panels[ViewSlot.MIDDLE].view
    session, editor = window.session, window.mask_editor
    (mask,) = [m for m in session.masks_on(ViewSlot.MIDDLE) if m.structure == "dural sac"]
    path = dab_path(mask.mask)
    editor.set_tool(EditTool.ERASER)
    editor.set_size_mm(1.5)
    gui.send_mouse(view, "press", view.image_to_widget(*path[0]))
    to_numbers, to_frame = [], []
    for row, column in path[1:]:
        sentence_before = window.report.draft.sentence(L45)
        start = time.perf_counter()
        gui.send_mouse(view, "move", view.image_to_widget(row, column))  # paints, measures, redrafts
        updated = time.perf_counter()
        view.render_now()
        rendered = time.perf_counter()
        if window.report.draft.sentence(L45) is not sentence_before:
            to_numbers.append(updated - start)
            to_frame.append(rendered - start)
    gui.send_mouse(view, "release", view.image_to_widget(*path[-1]))
    assert window.report_panel.rows[L45].text.toPlainText() == window.report.draft.sentence(L45).text
    size = view.GetRenderWindow().GetSize()
    print(
        f"\n[brush latency, window, axial 256x256, view {size[0]}x{size[1]} px] "
        f"mouse move -> area, AP, sentence (and editor row): {stats(to_numbers)}"
    )
    print(f"[brush latency, window] mouse move -> frame rendered: {stats(to_frame)}")

"""Viewer polish seen in screenshots: images fit their pane on open, resize and reset (the whole
image, aspect kept, filling the limiting side); series titles keep their number and lose the end of
their description in narrow panes; corner annotations never cover the orientation letters."""

from __future__ import annotations

import numpy as np
import pytest

from lss_desktop.hanging_protocol import ViewSlot

pytestmark = pytest.mark.gui


def image_rect_on_screen(view) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the whole image in widget pixels."""
    rows, columns = view._image_shape
    first = view.image_to_widget(-0.5, -0.5)
    last = view.image_to_widget(rows - 0.5, columns - 0.5)
    return first.x(), first.y(), last.x(), last.y()


def assert_fitted(view) -> None:
    left, top, right, bottom = image_rect_on_screen(view)
    width, height = view.width(), view.height()
    assert left >= -1 and top >= -1 and right <= width + 1 and bottom <= height + 1  # all of it shows
    filled = max((right - left) / width, (bottom - top) / height)
    assert filled > 0.95, f"the image fills {filled:.0%} of its pane's limiting side"
    # Centred in the pane.
    assert abs((left + right) / 2 - width / 2) < 2 and abs((top + bottom) / 2 - height / 2) < 2


def screen_box(actor, renderer) -> tuple[float, float, float, float]:
    box = [0.0, 0.0, 0.0, 0.0]
    actor.GetBoundingBox(renderer, box)
    x, y, _ = actor.GetPositionCoordinate().GetValue()
    return x + box[0], x + box[1], y + box[2], y + box[3]


def overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def test_images_fit_their_panes_on_open_resize_and_reset(opened_study, qtbot, helpers):
    window = opened_study()
    views = [p.view for p in window.panels.values() if p.isVisible()]
    for view in views:
        assert_fitted(view)
    # Wide, short panes: the height limits now.
    window.third_view_action.setChecked(False)
    window.analysis_dock.hide()
    window.resize(1280, 520)
    helpers.settle(qtbot, window, 150)
    view = window.panels[ViewSlot.LEFT].view
    assert view.width() > view.height()
    assert_fitted(view)
    view.zoom_by(2.0)
    helpers.settle(qtbot, window)
    _, top, _, bottom = image_rect_on_screen(view)
    assert bottom - top > 1.5 * view.height()
    view.reset_view()
    helpers.settle(qtbot, window)
    assert_fitted(view)


def test_series_titles_keep_their_number_in_narrow_panes(opened_study, qtbot, helpers):
    window = opened_study()
    window.resize(1100, 800)
    window.report_dock.show()
    helpers.settle(qtbot, window, 150)
    for panel in window.panels.values():
        if not panel.isVisible():
            continue
        combo = panel.series_combo
        title = combo.currentText()
        shown = combo.shown_text()
        assert title.startswith("#") and shown.startswith(title.split()[0] + " ")
        assert shown == title or shown.endswith("…")
        widest = max(combo.fontMetrics().horizontalAdvance(combo.itemText(i)) for i in range(combo.count()))
        combo.showPopup()
        assert combo.view().width() >= widest
        combo.hidePopup()


def test_corner_annotations_leave_the_orientation_letters_free(opened_study, qtbot, helpers):
    window = opened_study()
    window.resize(1000, 800)
    window.report_dock.show()
    helpers.settle(qtbot, window, 150)
    checked = 0
    for panel in window.panels.values():
        view = panel.view
        if not panel.isVisible():
            continue
        assert view.width() < 260  # narrow panes: the case that overlapped before
        renderer = view.renderer
        texts = {k: a for k, a in view.corner_texts.items() if a.GetInput()}
        letters = {k: a for k, a in view.edge_texts.items() if a.GetInput()}
        boxes = {k: screen_box(a, renderer) for k, a in {**texts, **letters}.items()}
        names = sorted(boxes)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not overlap(boxes[a], boxes[b]), f"{a} and {b} overlap in the {panel.slot.value} view"
        width, height = view.GetRenderWindow().GetSize()
        assert all(
            box[0] >= 0 and box[1] <= width and box[2] >= 0 and box[3] <= height for box in boxes.values()
        )
        checked += 1
    assert checked == 3
    shot = window.panels[ViewSlot.MIDDLE].view.capture_rgb()
    assert np.asarray(shot).std() > 10

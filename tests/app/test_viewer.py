"""The VTK viewer in the real window, under Xvfb: images on screen, linked views, cross-reference
lines, window/level, scrolling, zoom, orientation and corner annotations, overlays and level
labels. Screenshots are taken from the render windows and checked."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

import engine
from engine.study.cross_reference import nearest_slice_index
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.overlays import OverlaySettings, OverlayStyle, structure_colour
from lss_desktop.theme import SLOT_COLOURS

pytestmark = pytest.mark.gui


def send_mouse(view, kind, pos, button=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier):
    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    held = Qt.MouseButton.NoButton if kind == "release" else button
    event = QMouseEvent(
        types[kind],
        QPointF(pos),
        QPointF(view.mapToGlobal(QPointF(pos))),
        Qt.MouseButton.NoButton if kind == "move" else button,
        held,
        modifiers,
    )
    QApplication.sendEvent(view, event)


def send_wheel(view, pos, steps, modifiers=Qt.KeyboardModifier.NoModifier):
    event = QWheelEvent(
        QPointF(pos),
        QPointF(view.mapToGlobal(QPointF(pos))),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view, event)


@pytest.fixture
def viewer(make_window, qtbot, lumbar):
    """A window showing the phantom study (sagittal T2, continuous and angled axial T2)."""
    study = lumbar.make_study(matrix=96)
    window = make_window()
    window.open_study(study)
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=15_000)
    for view in window.slice_views():
        view.render_now()
    return window


def render(window):
    for view in window.slice_views():
        view.render_now()


def test_views_show_the_hanging_protocol_and_are_not_blank(viewer, screenshot_dir):
    left, middle = viewer.panels[ViewSlot.LEFT].view, viewer.panels[ViewSlot.MIDDLE].view
    assert left.session.series_in(ViewSlot.LEFT).description == "Sag T2 TSE"
    assert middle.session.series_in(ViewSlot.MIDDLE).description == "Ax T2 TSE stack"
    assert not viewer.panels[ViewSlot.RIGHT].isVisible()
    for view in (left, middle):
        shot = view.capture_rgb()
        assert shot.shape[:2] == (view.height(), view.width())
        assert shot.std() > 20.0  # an image, not a flat background
    image = viewer.save_screenshot(screenshot_dir / "viewer-two-views.png")
    assert image.stat().st_size > 10_000


def test_whole_window_screenshot_contains_the_vtk_panes(viewer, screenshot_dir, qapp):
    from lss_desktop.window_capture import capture_window

    image = capture_window(viewer)
    view = viewer.panels[ViewSlot.MIDDLE].view
    corner = view.mapTo(viewer, QPoint(0, 0))
    values = [
        image.pixelColor(corner.x() + x, corner.y() + y).lightness()
        for x in range(0, view.width(), 7)
        for y in range(0, view.height(), 7)
    ]
    assert np.std(values) > 20.0
    grabbed = viewer.screen().grabWindow(viewer.winId()).toImage()  # what the X server shows
    screen_values = [
        grabbed.pixelColor(corner.x() + x, corner.y() + y).lightness()
        for x in range(0, view.width(), 7)
        for y in range(0, view.height(), 7)
    ]
    assert np.corrcoef(values, screen_values)[0, 1] > 0.9
    grabbed.save(str(screenshot_dir / "viewer-grabwindow.png"))


@pytest.mark.parametrize("axial_suffix", [".2", ".3"], ids=["continuous", "angled-per-disc"])
def test_clicking_the_sagittal_moves_the_axial_to_the_geometrically_nearest_slice(
    viewer, lumbar, axial_suffix
):
    session = viewer.session
    session.show_series(ViewSlot.MIDDLE, lumbar.STUDY_UID + axial_suffix)
    render(viewer)
    sagittal_view = viewer.panels[ViewSlot.LEFT].view
    axial = session.series_in(ViewSlot.MIDDLE)
    sagittal = session.current_geometry(ViewSlot.LEFT)
    for target_index in range(0, len(axial), 2):
        # Aim at the middle of where this axial slice cuts the sagittal, click there.
        target = axial.slices[target_index].geometry
        row, col, _ = sagittal.lps_to_pixel(target.pixel_to_lps(target.rows / 2, target.columns / 2))
        pos = sagittal_view.image_to_widget(row, col).toPoint()
        send_mouse(sagittal_view, "press", pos)
        send_mouse(sagittal_view, "release", pos)
        clicked_rc = sagittal_view.widget_to_image(QPointF(pos))
        clicked_lps = sagittal.pixel_to_lps(*clicked_rc)
        chosen = session.view(ViewSlot.MIDDLE).slice_index
        assert chosen == nearest_slice_index(axial, clicked_lps)
        assert chosen == target_index


def test_widget_and_image_coordinates_round_trip(viewer):
    view = viewer.panels[ViewSlot.LEFT].view
    for row, col in ((0.0, 0.0), (47.5, 12.25), (95.0, 95.0)):
        pos = view.image_to_widget(row, col)
        assert view.widget_to_image(pos) == pytest.approx((row, col), abs=1e-6)
    view.zoom_by(2.0, QPointF(100, 100))
    pos = view.image_to_widget(30.0, 40.0)
    assert view.widget_to_image(pos) == pytest.approx((30.0, 40.0), abs=1e-6)


def _colour_near(shot, x, y, rgb, radius=2, tolerance=40):
    patch = shot[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1].astype(int)
    distance = np.abs(patch - np.asarray(rgb)).sum(axis=-1)
    return distance.min() <= tolerance


def test_cross_reference_line_endpoints_and_drawn_colour(viewer):
    session = viewer.session
    view = viewer.panels[ViewSlot.LEFT].view
    for steps in (0, 5, -7):
        session.scroll(ViewSlot.MIDDLE, steps)
        render(viewer)
        (line,) = session.cross_reference_lines(ViewSlot.LEFT)
        axial_plane = session.current_geometry(ViewSlot.MIDDLE)
        sagittal = session.current_geometry(ViewSlot.LEFT)
        (r0, c0), (r1, c1) = line.segment
        assert sorted([c0, c1]) == pytest.approx([-0.5, sagittal.columns - 0.5])
        expected_row = (sagittal.position_lps[2] - axial_plane.position_lps[2]) / sagittal.pixel_spacing_mm[0]
        assert r0 == pytest.approx(expected_row) and r1 == pytest.approx(expected_row)
        # The actor draws exactly that segment, and it shows in the view's colour.
        points = view._line_actors[ViewSlot.MIDDLE].GetMapper().GetInput().GetPoints()
        drawn = [points.GetPoint(i)[:2] for i in range(2)]
        spacing = sagittal.pixel_spacing_mm
        assert drawn == [pytest.approx((c * spacing[1], r * spacing[0])) for r, c in line.segment]
        shot = view.capture_rgb()
        middle = view.image_to_widget((r0 + r1) / 2, (c0 + c1) / 2 + 10)
        colour = tuple(round(255 * v) for v in SLOT_COLOURS[ViewSlot.MIDDLE])
        assert _colour_near(shot, round(middle.x()), round(middle.y()), colour, tolerance=120)  # 85 % opaque


def test_angled_stack_cross_reference_line_is_tilted(viewer, lumbar):
    session = viewer.session
    session.show_series(ViewSlot.MIDDLE, lumbar.STUDY_UID + ".3")
    session.set_slice(ViewSlot.MIDDLE, 1)  # the middle slice of the L5-S1 stack, tilted 18 degrees
    render(viewer)
    (line,) = session.cross_reference_lines(ViewSlot.LEFT)
    (r0, c0), (r1, c1) = line.segment
    slope_deg = np.degrees(np.arctan2(abs(r1 - r0), abs(c1 - c0)))
    assert slope_deg == pytest.approx(18.0, abs=0.5)


def test_right_drag_changes_the_window_and_the_rendered_image(viewer):
    view = viewer.panels[ViewSlot.MIDDLE].view
    session = viewer.session
    before_window = session.view(ViewSlot.MIDDLE).window
    before = view.capture_rgb().astype(float).mean()
    start = QPoint(view.width() // 2, view.height() // 2)
    send_mouse(view, "press", start, Qt.MouseButton.RightButton)
    send_mouse(view, "move", start + QPoint(-150, 120), Qt.MouseButton.RightButton)
    send_mouse(view, "release", start + QPoint(-150, 120), Qt.MouseButton.RightButton)
    after_window = session.view(ViewSlot.MIDDLE).window
    assert after_window.width < before_window.width  # dragged left: narrower
    assert after_window.centre < before_window.centre  # dragged down: lower level, brighter
    after = view.capture_rgb().astype(float).mean()
    assert after > before + 5.0
    assert f"W {after_window.width:.0f}" in view.corner_texts["lr"].GetInput()


def test_wheel_and_keys_scroll_and_ctrl_wheel_zooms(viewer, qtbot):
    view = viewer.panels[ViewSlot.MIDDLE].view
    session = viewer.session
    start = session.view(ViewSlot.MIDDLE).slice_index
    centre = QPoint(view.width() // 2, view.height() // 2)
    send_wheel(view, centre, -3)
    assert session.view(ViewSlot.MIDDLE).slice_index == start + 3
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert session.view(ViewSlot.MIDDLE).slice_index == start + 2
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert session.view(ViewSlot.MIDDLE).slice_index == len(session.series_in(ViewSlot.MIDDLE)) - 1
    render(viewer)
    assert view.corner_texts["ll"].GetInput().startswith(f"Im {len(session.series_in(ViewSlot.MIDDLE))} /")
    send_wheel(view, centre, 2, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom_percent() == pytest.approx(100 * 1.15**2, rel=1e-3)
    qtbot.keyClick(view, Qt.Key.Key_R)
    assert view.zoom_percent() == pytest.approx(100.0)


def test_pan_moves_the_image_under_the_cursor(viewer):
    view = viewer.panels[ViewSlot.LEFT].view
    start = QPoint(view.width() // 2, view.height() // 2)
    before = view.widget_to_image(QPointF(start))
    send_mouse(view, "press", start, Qt.MouseButton.MiddleButton)
    send_mouse(view, "move", start + QPoint(40, 25), Qt.MouseButton.MiddleButton)
    send_mouse(view, "release", start + QPoint(40, 25), Qt.MouseButton.MiddleButton)
    after = view.widget_to_image(QPointF(start + QPoint(40, 25)))
    assert after == pytest.approx(before, abs=0.05)  # the grabbed point followed the mouse


def test_orientation_letters_and_corner_annotations_with_anonymise(viewer):
    left = viewer.panels[ViewSlot.LEFT].view
    middle = viewer.panels[ViewSlot.MIDDLE].view
    letters = {k: a.GetInput() for k, a in left.edge_texts.items()}
    assert letters == {"l": "A", "r": "P", "t": "S", "b": "I"}
    assert {k: a.GetInput() for k, a in middle.edge_texts.items()} == {"l": "R", "r": "L", "t": "A", "b": "P"}
    assert "Doe Jane" in left.corner_texts["ul"].GetInput()
    assert "Sag T2 TSE" in left.corner_texts["ur"].GetInput()
    viewer.anonymise_action.setChecked(True)
    render(viewer)
    for view in (left, middle):
        text = view.corner_texts["ul"].GetInput()
        assert "Doe" not in text and "PID-12345" not in text and "1960" not in text
    assert "Doe" not in viewer.windowTitle()


def test_overlays_show_the_mask_colour_where_the_mask_is(viewer, lumbar, screenshot_dir):
    session = viewer.session
    findings = lumbar.make_findings(session.study)
    session.set_findings(findings)
    session.go_to_level("L4-L5")
    render(viewer)
    view = viewer.panels[ViewSlot.MIDDLE].view
    (mask,) = session.masks_on(ViewSlot.MIDDLE)
    rows, cols = np.nonzero(mask.mask)
    # Half-way between the mask's centre and its edge: off the cross-reference line through the canal.
    centre = view.image_to_widget(rows.mean(), cols.mean() + 1.5)
    x, y = round(centre.x()), round(centre.y())
    shot = view.capture_rgb()
    viewer.save_screenshot(screenshot_dir / "viewer-overlays.png")
    yellow = structure_colour("dural sac")
    r, g, b = shot[y, x].astype(int)
    assert r > b + 80 and g > b + 60, (r, g, b)  # yellow over the bright sac
    outside = view.image_to_widget(rows.mean(), cols.mean() + 30)
    ro, _go, bo = shot[round(outside.y()), round(outside.x())].astype(int)
    assert abs(ro - bo) < 30  # grey image away from the mask

    session.set_overlay_settings(OverlaySettings(style=OverlayStyle.OUTLINE))
    render(viewer)
    outline_shot = view.capture_rgb()
    inside_grey = outline_shot[y, x].astype(int)
    assert abs(inside_grey[0] - inside_grey[2]) < 30  # the inside is no longer filled
    top = view.image_to_widget(rows.min(), cols.mean())
    assert _colour_near(outline_shot, round(top.x()), round(top.y()), yellow, radius=3, tolerance=60)

    session.set_overlay_settings(OverlaySettings(show_masks=False, show_explanation=True, opacity=0.9))
    render(viewer)
    heat_shot = view.capture_rgb()
    heat = session.explanation_on(ViewSlot.MIDDLE)
    warm = view.image_to_widget(*np.unravel_index(int(np.argmin(np.abs(heat - 0.5))), heat.shape))
    hr, _hg, hb = heat_shot[round(warm.y()), round(warm.x())].astype(int)
    assert hr > hb + 60  # half-way up the ramp the heat is orange-red
    viewer.save_screenshot(screenshot_dir / "viewer-explanation.png")


def test_sagittal_mask_and_legend(viewer, lumbar):
    session = viewer.session
    session.set_findings(lumbar.make_findings(session.study))
    legend = viewer.overlay_panel.legend
    assert [legend.item(i).text() for i in range(legend.count())] == ["dural sac", "spinal canal"]
    legend.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert session.overlay_settings.hidden_structures == frozenset({"spinal canal"})
    viewer.overlay_panel.opacity_slider.setValue(80)
    assert session.overlay_settings.opacity == pytest.approx(0.8)
    viewer.overlay_panel.style_combo.setCurrentIndex(1)
    assert session.overlay_settings.style is OverlayStyle.OUTLINE


def test_level_labels_are_drawn_and_can_be_dragged(viewer, lumbar, screenshot_dir):
    session = viewer.session
    session.set_findings(lumbar.make_findings(session.study))
    render(viewer)
    view = viewer.panels[ViewSlot.LEFT].view
    assert [t.GetInput() for t, _ in view._label_texts] == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    label = next(p for p in session.level_labels_on(ViewSlot.LEFT) if p.level.label == "L3-L4")
    shot = view.capture_rgb()
    spacing = session.current_geometry(ViewSlot.LEFT).pixel_spacing_mm
    ring_top = view.image_to_widget(label.row - 3.5 / spacing[0], label.column)  # the 3.5 mm ring
    assert _colour_near(shot, round(ring_top.x()), round(ring_top.y()), (140, 217, 255), tolerance=90)

    moved = []
    record = session.events.level_label_moved.connect(lambda level, position: moved.append((level, position)))
    start = view.image_to_widget(label.row, label.column).toPoint()
    end = start + QPoint(0, 14)
    send_mouse(view, "press", start)
    send_mouse(view, "move", start + QPoint(0, 7))
    send_mouse(view, "move", end)
    send_mouse(view, "release", end)
    assert session.selected_level == "L3-L4"
    assert len(moved) == 1 and moved[0][0] == "L3-L4"
    expected = session.current_geometry(ViewSlot.LEFT).pixel_to_lps(*view.widget_to_image(QPointF(end)))
    assert moved[0][1] == pytest.approx(tuple(expected), abs=1e-6)
    assert moved[0][1][2] < label.level.centre_lps[2]  # dragged down on screen = inferior
    session.events.level_label_moved.disconnect(record)
    render(viewer)
    viewer.save_screenshot(screenshot_dir / "viewer-level-label-dragged.png")


def test_a_click_without_drag_on_a_label_selects_it_without_moving_it(viewer, lumbar):
    session = viewer.session
    session.set_findings(lumbar.make_findings(session.study))
    render(viewer)
    view = viewer.panels[ViewSlot.LEFT].view
    label = next(p for p in session.level_labels_on(ViewSlot.LEFT) if p.level.label == "L2-L3")
    moved = []
    record = session.events.level_label_moved.connect(lambda *args: moved.append(args))
    pos = view.image_to_widget(label.row, label.column).toPoint()
    send_mouse(view, "press", pos)
    send_mouse(view, "release", pos)
    assert moved == [] and session.selected_level == "L2-L3"
    session.events.level_label_moved.disconnect(record)


def test_series_can_be_shown_by_combo_drop_and_double_click(viewer, lumbar):
    session = viewer.session
    panel = viewer.panels[ViewSlot.MIDDLE]
    index = panel.series_combo.findData(lumbar.STUDY_UID + ".3")
    panel.series_combo.activated.emit(index)
    assert session.view(ViewSlot.MIDDLE).series_key == lumbar.STUDY_UID + ".3"

    from PySide6.QtGui import QDropEvent

    browser = viewer.series_browser
    mime = browser.mimeData([browser.item_for(lumbar.STUDY_UID + ".2")])
    drop = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    viewer.third_view_action.setChecked(True)
    viewer.panels[ViewSlot.RIGHT].dropEvent(drop)
    assert session.view(ViewSlot.RIGHT).series_key == lumbar.STUDY_UID + ".2"
    assert viewer.panels[ViewSlot.RIGHT].series_combo.currentData() == lumbar.STUDY_UID + ".2"

    viewer.active_slot = ViewSlot.LEFT
    browser.itemDoubleClicked.emit(browser.item_for(lumbar.STUDY_UID + ".3"))
    assert session.view(ViewSlot.LEFT).series_key == lumbar.STUDY_UID + ".3"


def test_thumbnails_banner_and_version_are_shown(viewer):
    browser = viewer.series_browser
    for row in range(browser.count()):
        image = browser.item(row).icon().pixmap(96, 96).toImage()
        values = [
            image.pixelColor(x, y).lightness()
            for x in range(0, image.width(), 4)
            for y in range(0, image.height(), 4)
        ]
        assert np.std(values) > 10.0
    assert engine.INTENDED_USE in viewer.banner.text() and viewer.banner.isVisible()
    assert engine.__version__ in viewer.version_label.text() and viewer.version_label.isVisible()


def test_third_view_for_sagittal_t1(make_window, qtbot, lumbar, screenshot_dir):
    window = make_window()
    window.open_study(lumbar.make_study(matrix=64, sagittal_t1=True))
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=15_000)
    assert window.panels[ViewSlot.RIGHT].isVisible()
    assert window.session.series_in(ViewSlot.RIGHT).description == "Sag T1 TSE"
    assert window.panels[ViewSlot.RIGHT].view.capture_rgb().std() > 20.0
    window.save_screenshot(screenshot_dir / "viewer-three-views.png")
    window.third_view_action.setChecked(False)
    assert not window.panels[ViewSlot.RIGHT].isVisible()
    assert window.session.series_in(ViewSlot.RIGHT) is None


def test_an_undecodable_slice_shows_why_and_the_rest_of_the_series_works(make_window, qtbot, lumbar):
    import dataclasses

    study = lumbar.make_study(matrix=32, angled_axial=False)
    axial = study.series[1]
    broken_uid = axial.slices[len(axial) // 2].sop_instance_uid

    def loader(image):
        if image.sop_instance_uid == broken_uid:
            raise ValueError("pixel data truncated (expected 2048 bytes, found 100)")
        return axial.pixel_loader(image)

    broken = dataclasses.replace(axial, pixel_loader=loader)
    study = dataclasses.replace(study, series=(study.series[0], broken))
    window = make_window()
    window.open_study(study)  # the axial opens on its middle slice, the broken one
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=10_000)
    view = window.panels[ViewSlot.MIDDLE].view
    view.render_now()
    assert "could not be decoded" in view.placeholder_text.GetInput()
    assert "truncated" in view.placeholder_text.GetInput()
    assert window.session.view(ViewSlot.MIDDLE).window is None
    window.session.scroll(ViewSlot.MIDDLE, 1)
    view.render_now()
    assert view.placeholder_text.GetInput() == ""
    assert window.session.view(ViewSlot.MIDDLE).window is not None
    assert view.capture_rgb().std() > 20.0

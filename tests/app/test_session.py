"""The Qt-free session model: hanging protocol, navigation, linking, windows, findings, labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.study.cross_reference import nearest_slice_index
from lss_desktop.hanging_protocol import ViewSlot, hang_lumbar_study
from lss_desktop.session import ViewChange, ViewerSession
from lss_desktop.windowing import WindowLevel

ROOT = Path(__file__).resolve().parents[2]
QT_FREE_MODULES = [
    "lss_desktop.events",
    "lss_desktop.session",
    "lss_desktop.hanging_protocol",
    "lss_desktop.windowing",
    "lss_desktop.overlays",
    "lss_desktop.orientation_labels",
    "lss_desktop.pixel_cache",
    "lss_desktop.thumbnails",
    "lss_desktop.series_text",
    "lss_desktop.study_sources",
    "engine.study.cross_reference",
]


def test_session_model_imports_no_qt_or_vtk():
    code = (
        "import importlib, sys\n"
        f"for m in {QT_FREE_MODULES!r}: importlib.import_module(m)\n"
        "print(sorted({k.split('.')[0] for k in sys.modules if k.split('.')[0] in ('PySide6', 'vtkmodules', 'vtk', 'shiboken6')}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


class Recorder:
    def __init__(self, session: ViewerSession) -> None:
        self.calls: list[tuple[str, tuple]] = []
        for emitter in session.events.all():
            emitter.connect(lambda *args, name=emitter.name: self.calls.append((name, args)))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_hanging_protocol_puts_sagittal_t2_left_axial_t2_middle_sagittal_t1_right(lumbar):
    study = lumbar.make_study(matrix=16, sagittal_t1=True)
    hung = hang_lumbar_study(study)
    assert hung[ViewSlot.LEFT].description == "Sag T2 TSE"
    assert hung[ViewSlot.MIDDLE].description == "Ax T2 TSE stack"  # the stack with more slices
    assert hung[ViewSlot.RIGHT].description == "Sag T1 TSE"
    without_t1 = hang_lumbar_study(lumbar.make_study(matrix=16, continuous_axial=False))
    assert without_t1[ViewSlot.RIGHT] is None
    assert without_t1[ViewSlot.MIDDLE].description == "Ax T2 per disc"


def test_set_study_hangs_views_at_the_middle_slice_with_a_window(lumbar):
    session = ViewerSession()
    recorder = Recorder(session)
    study = lumbar.make_study(matrix=16)
    session.set_study(study)
    assert recorder.names()[0] == "study_changed"
    assert ("view_changed", (ViewSlot.LEFT, ViewChange.SERIES)) in recorder.calls
    left = session.view(ViewSlot.LEFT)
    assert left.slice_index == len(study.series[0]) // 2
    assert left.window is not None and left.window.width > 100
    assert session.view(ViewSlot.RIGHT).series_key is None


def test_scroll_is_clamped_and_only_real_changes_emit(lumbar):
    session = ViewerSession()
    session.set_study(lumbar.make_study(matrix=16))
    recorder = Recorder(session)
    n = len(session.series_in(ViewSlot.MIDDLE))
    session.scroll(ViewSlot.MIDDLE, 1000)
    assert session.view(ViewSlot.MIDDLE).slice_index == n - 1
    session.scroll(ViewSlot.MIDDLE, 1)
    session.set_slice(ViewSlot.MIDDLE, -5)
    assert session.view(ViewSlot.MIDDLE).slice_index == 0
    assert recorder.calls == [
        ("view_changed", (ViewSlot.MIDDLE, ViewChange.SLICE)),
        ("view_changed", (ViewSlot.MIDDLE, ViewChange.SLICE)),
    ]


@pytest.mark.parametrize("axial_uid_suffix", [".2", ".3"], ids=["continuous", "angled"])
def test_locate_on_the_sagittal_moves_the_axial_to_the_nearest_slice(lumbar, axial_uid_suffix):
    study = lumbar.make_study(matrix=32)
    session = ViewerSession()
    session.set_study(study)
    session.show_series(ViewSlot.MIDDLE, lumbar.STUDY_UID + axial_uid_suffix)
    axial = session.series_in(ViewSlot.MIDDLE)
    for z in (75.0, 38.0, -3.0, -41.0, -78.0):
        geometry = session.current_geometry(ViewSlot.LEFT)
        row, col, _ = geometry.lps_to_pixel(np.array([0.0, 2.0, z]))
        point = session.locate_pixel(ViewSlot.LEFT, row, col)
        assert session.view(ViewSlot.MIDDLE).slice_index == nearest_slice_index(axial, point)
        assert (
            abs(axial.slices[session.view(ViewSlot.MIDDLE).slice_index].geometry.lps_to_pixel(point)[2])
            <= 5.0
        )
    assert session.view(ViewSlot.LEFT).slice_index == len(study.series[0]) // 2  # the clicked view stays


def test_cross_reference_lines_follow_the_other_views(lumbar):
    session = ViewerSession()
    session.set_study(lumbar.make_study(matrix=32))
    lines = session.cross_reference_lines(ViewSlot.LEFT)
    assert [line.source for line in lines] == [ViewSlot.MIDDLE]
    before = lines[0].segment
    session.scroll(ViewSlot.MIDDLE, 2)
    after = session.cross_reference_lines(ViewSlot.LEFT)[0].segment
    assert after[0][0] < before[0][0]  # two slices up (superior) is higher on the sagittal image
    assert [line.source for line in session.cross_reference_lines(ViewSlot.MIDDLE)] == [ViewSlot.LEFT]


def test_window_actions(lumbar):
    session = ViewerSession()
    session.set_study(lumbar.make_study(matrix=16))
    session.set_window(ViewSlot.LEFT, WindowLevel(100.0, 50.0))
    assert session.view(ViewSlot.LEFT).window == WindowLevel(100.0, 50.0)
    session.apply_window_preset(ViewSlot.LEFT, "T2 spine")
    t2 = session.view(ViewSlot.LEFT).window
    session.apply_window_preset(ViewSlot.LEFT, "T1 spine")
    assert session.view(ViewSlot.LEFT).window != t2
    session.auto_window(ViewSlot.LEFT)
    pixels = session.current_pixels(ViewSlot.LEFT)
    low, high = np.percentile(pixels, [1.0, 99.5])
    assert session.view(ViewSlot.LEFT).window.width == pytest.approx(high - low)
    with pytest.raises(KeyError, match="unknown window preset"):
        session.apply_window_preset(ViewSlot.LEFT, "CT bone")


def test_findings_give_masks_explanations_and_level_labels(lumbar):
    study = lumbar.make_study(matrix=32)
    findings = lumbar.make_findings(study)
    session = ViewerSession()
    session.set_study(study)
    recorder = Recorder(session)
    session.set_findings(findings)
    assert recorder.names() == ["findings_changed", "level_labels_changed"]
    session.go_to_level("L4-L5")
    assert session.selected_level == "L4-L5"
    masks = session.masks_on(ViewSlot.MIDDLE)
    assert [m.structure for m in masks] == ["dural sac"]
    assert session.explanation_on(ViewSlot.MIDDLE).max() > 0.9  # the peak sits between pixel centres
    labels = session.level_labels_on(ViewSlot.LEFT)
    assert [p.level.label for p in labels] == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    assert session.level_labels_on(ViewSlot.MIDDLE) == ()


def test_findings_of_another_study_are_refused(lumbar):
    import dataclasses

    study = lumbar.make_study(matrix=16)
    session = ViewerSession()
    session.set_study(study)
    other = dataclasses.replace(lumbar.make_findings(study), study_instance_uid="1.2.3")
    with pytest.raises(ValueError, match="not the open study"):
        session.set_findings(other)


def test_moving_a_level_label_emits_the_new_position(lumbar):
    study = lumbar.make_study(matrix=32)
    session = ViewerSession()
    session.set_study(study)
    session.set_findings(lumbar.make_findings(study))
    moved = []
    session.events.level_label_moved.connect(lambda level, position: moved.append((level, position)))
    session.move_level_label("L3-L4", np.array([0.0, -25.0, 4.0]))
    assert moved == [("L3-L4", (0.0, -25.0, 4.0))]
    assert next(d for d in session.level_labels if d.label == "L3-L4").centre_lps == (0.0, -25.0, 4.0)
    with pytest.raises(KeyError):
        session.move_level_label("T12-L1", (0.0, 0.0, 0.0))


def test_anonymise_and_closing_the_study(lumbar):
    session = ViewerSession()
    recorder = Recorder(session)
    session.set_anonymised(True)
    session.set_anonymised(True)
    assert recorder.calls == [("anonymised_changed", (True,))]
    session.set_study(lumbar.make_study(matrix=16))
    session.set_study(None)
    assert session.series_in(ViewSlot.LEFT) is None
    assert session.pixels.size_bytes == 0


def test_the_parts_of_a_split_series_are_shown_and_cached_separately(lumbar):
    import dataclasses

    study = lumbar.make_study(matrix=16, angled_axial=False)
    axial = study.series[1]
    half = len(axial) // 2
    part1 = dataclasses.replace(axial, slices=axial.slices[:half], split_part=1)
    part2 = dataclasses.replace(axial, slices=axial.slices[half:], split_part=2)
    study = dataclasses.replace(study, series=(study.series[0], part1, part2))
    session = ViewerSession()
    session.set_study(study)
    assert part1.series_instance_uid == part2.series_instance_uid and part1.key != part2.key
    session.show_series(ViewSlot.MIDDLE, part2.key)
    session.show_series(ViewSlot.RIGHT, part1.key)
    assert session.series_in(ViewSlot.MIDDLE) is part2 and session.series_in(ViewSlot.RIGHT) is part1
    assert session.current_slice(ViewSlot.MIDDLE) is part2.slices[len(part2) // 2]
    assert (part2, len(part2) // 2) in session.pixels and (part1, len(part1) // 2) in session.pixels

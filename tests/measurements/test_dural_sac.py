"""DSCA and AP diameter on drawn masks with known geometry, including oblique slices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.findings import SchizasGrade
from engine.measurements import (
    AreaStenosis,
    classify_dural_sac_area,
    grade_agrees_with_area,
    measure_dural_sac,
)
from engine.study.model import SliceGeometry


def _axial_geometry(tilt_deg: float = 0.0, spacing=(0.5, 0.5), size=200) -> SliceGeometry:
    """An axial slice (rows run posterior, columns run left), tilted about the left-right axis."""
    t = math.radians(tilt_deg)
    row_direction = (1.0, 0.0, 0.0)
    column_direction = (0.0, math.cos(t), math.sin(t))
    return SliceGeometry((-50.0, -50.0, 0.0), row_direction, column_direction, spacing, size, size)


def _ellipse(geometry: SliceGeometry, ap_mm: float, lr_mm: float) -> np.ndarray:
    rows, cols = np.mgrid[0 : geometry.rows, 0 : geometry.columns]
    dr = (rows - geometry.rows / 2) * geometry.pixel_spacing_mm[0]
    dc = (cols - geometry.columns / 2) * geometry.pixel_spacing_mm[1]
    return (dr / (ap_mm / 2)) ** 2 + (dc / (lr_mm / 2)) ** 2 <= 1.0


def test_area_and_ap_of_a_perpendicular_ellipse():
    geometry = _axial_geometry(spacing=(0.25, 0.25), size=400)
    mask = _ellipse(geometry, ap_mm=12.0, lr_mm=16.0)
    m = measure_dural_sac(mask, geometry, canal_direction_lps=(0, 0, 1))
    assert m.dural_sac_area_mm2 == pytest.approx(math.pi * 6 * 8, rel=0.02)
    assert m.ap_diameter_mm == pytest.approx(12.0, abs=0.3)
    assert m.obliquity_deg == pytest.approx(0.0, abs=1e-6)


def test_oblique_slice_is_corrected_to_the_perpendicular_cross_section():
    tilt = 25.0
    geometry = _axial_geometry(tilt_deg=tilt, spacing=(0.25, 0.25), size=400)
    # A cylinder of AP 12 mm / LR 16 mm along z, cut at 25 deg, appears stretched along AP by 1/cos.
    stretched = _ellipse(geometry, ap_mm=12.0 / math.cos(math.radians(tilt)), lr_mm=16.0)
    m = measure_dural_sac(stretched, geometry, canal_direction_lps=(0, 0, 1))
    assert m.in_plane_area_mm2 == pytest.approx(math.pi * 6 * 8 / math.cos(math.radians(tilt)), rel=0.02)
    assert m.dural_sac_area_mm2 == pytest.approx(math.pi * 6 * 8, rel=0.02)
    assert m.ap_diameter_mm == pytest.approx(12.0, abs=0.35)
    assert m.obliquity_deg == pytest.approx(tilt, abs=0.01)


def test_anisotropic_pixels_and_empty_mask():
    geometry = _axial_geometry(spacing=(0.4, 0.8), size=120)
    mask = np.zeros((120, 120), bool)
    mask[50:60, 40:45] = True  # 10 rows x 5 columns
    m = measure_dural_sac(mask, geometry)
    assert m.dural_sac_area_mm2 == pytest.approx(50 * 0.4 * 0.8)
    assert m.ap_diameter_mm == pytest.approx(10 * 0.4)
    empty = measure_dural_sac(np.zeros((120, 120), bool), geometry)
    assert (empty.dural_sac_area_mm2, empty.ap_diameter_mm, empty.pixel_count) == (0.0, 0.0, 0)


def test_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="does not match"):
        measure_dural_sac(np.zeros((10, 10), bool), _axial_geometry())


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        (150.0, AreaStenosis.NONE),
        (100.0, AreaStenosis.NONE),
        (99.9, AreaStenosis.RELATIVE),
        (74.9, AreaStenosis.ABSOLUTE),
    ],
)
def test_area_classes_follow_the_clinical_thresholds(area, expected):
    assert classify_dural_sac_area(area) is expected


def test_clear_contradictions_between_grade_and_area_are_flagged():
    assert grade_agrees_with_area(SchizasGrade.A, 160.0)
    assert grade_agrees_with_area(SchizasGrade.C, 70.0)
    assert not grade_agrees_with_area(SchizasGrade.A, 60.0)
    assert not grade_agrees_with_area(SchizasGrade.D, 140.0)

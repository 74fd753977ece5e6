"""engine.study.cross_reference: nearest slice to a point and plane/image intersection lines."""

from __future__ import annotations

import numpy as np
import pytest

from engine.study.cross_reference import nearest_slice_index, plane_intersection_in_image


def _brute_force_nearest(series, point):
    """The slice whose image contains the point's projection and whose plane is nearest."""
    best = None
    for i, s in enumerate(series.slices):
        row, col, dist = s.geometry.lps_to_pixel(np.asarray(point))
        inside = -0.5 <= row <= s.geometry.rows - 0.5 and -0.5 <= col <= s.geometry.columns - 0.5
        key = (not inside, abs(dist))
        if best is None or key < best[0]:
            best = (key, i)
    return best[1]


@pytest.mark.parametrize("series_index", [1, 2], ids=["continuous axial", "angled per-disc axial"])
def test_nearest_slice_matches_brute_force_for_points_in_the_spine(lumbar, series_index):
    study = lumbar.make_study(matrix=32)
    series = study.series[series_index]
    rng = np.random.default_rng(7)
    points = np.column_stack(
        [rng.uniform(-20, 20, 200), rng.uniform(-40, 20, 200), rng.uniform(-95, 95, 200)]
    )
    for point in points:
        assert nearest_slice_index(series, point) == _brute_force_nearest(series, point)


def test_nearest_slice_on_an_angled_stack_picks_the_plane_through_the_point(lumbar):
    study = lumbar.make_study(matrix=32)
    angled = study.series[2]
    for index, image in enumerate(angled.slices):
        # A point on this slice's plane, near the canal, must select exactly this slice.
        point = image.geometry.pixel_to_lps(image.geometry.rows / 2, image.geometry.columns / 2 + 3)
        assert nearest_slice_index(angled, point) == index


def test_nearest_slice_needs_geometry(lumbar):
    import dataclasses

    series = lumbar.make_study(matrix=16).series[1]
    blind = dataclasses.replace(
        series, slices=tuple(dataclasses.replace(s, geometry=None) for s in series.slices)
    )
    with pytest.raises(ValueError, match="no slice with geometry"):
        nearest_slice_index(blind, (0.0, 0.0, 0.0))


def test_axial_plane_cuts_the_sagittal_in_a_horizontal_line_at_its_height(lumbar):
    study = lumbar.make_study(matrix=64)
    sagittal = study.series[0].slices[5].geometry
    axial = study.series[1].slices[10].geometry
    (r0, c0), (r1, c1) = plane_intersection_in_image(sagittal, axial)
    spacing = sagittal.pixel_spacing_mm[0]
    expected_row = (sagittal.position_lps[2] - axial.position_lps[2]) / spacing
    assert r0 == pytest.approx(expected_row) and r1 == pytest.approx(expected_row)
    assert sorted([c0, c1]) == pytest.approx([-0.5, sagittal.columns - 0.5])


@pytest.mark.parametrize("slice_index", range(15))
def test_angled_plane_line_lies_on_both_planes_and_ends_on_the_image_border(lumbar, slice_index):
    study = lumbar.make_study(matrix=48)
    sagittal = study.series[0].slices[5].geometry
    axial = study.series[2].slices[slice_index].geometry
    segment = plane_intersection_in_image(sagittal, axial)
    assert segment is not None
    for row, col in segment:
        point = sagittal.pixel_to_lps(row, col)
        assert abs(axial.lps_to_pixel(point)[2]) < 1e-6  # on the axial plane
        assert abs(sagittal.lps_to_pixel(point)[2]) < 1e-6  # on the sagittal plane
        on_border = (
            np.isclose(row, -0.5)
            or np.isclose(row, sagittal.rows - 0.5)
            or np.isclose(col, -0.5)
            or np.isclose(col, sagittal.columns - 0.5)
        )
        assert on_border


def test_parallel_planes_and_lines_outside_the_image_give_no_segment(lumbar):
    study = lumbar.make_study(matrix=32)
    sagittal = study.series[0].slices
    assert plane_intersection_in_image(sagittal[0].geometry, sagittal[3].geometry) is None
    far = lumbar.axial_geometry((0.0, 0.0, 500.0), 0.0, 32)  # 50 cm above the sagittal's field of view
    assert plane_intersection_in_image(sagittal[0].geometry, far) is None

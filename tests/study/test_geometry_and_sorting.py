"""Slices sorted along the slice normal (never by InstanceNumber or file name), geometry per slice."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from engine.study import IssueSeverity, Orientation, load_study


def _pixel_order(series) -> list[int]:
    """Spatial index written into each slice's pixels, in the loaded order."""
    return [round(series.slice_pixels(i)[0, 0] / 10) - 1 for i in range(len(series.slices))]


@pytest.mark.parametrize(
    ("plane", "expected", "axis"),
    [
        ("SAGITTAL", Orientation.SAGITTAL, 0),
        ("CORONAL", Orientation.CORONAL, 1),
        ("AXIAL", Orientation.AXIAL, 2),
    ],
)
def test_slices_sort_along_the_normal_despite_shuffled_names_and_instance_numbers(
    dicom_factory, plane, expected, axis
):
    spec, written = dicom_factory.series(orientation=getattr(dicom_factory, plane), n_slices=7)
    series = load_study(dicom_factory.root).series[0]
    assert series.orientation is expected
    assert len(series.slices) == 7
    # Sorted by increasing coordinate along the dominant LPS axis, whatever the file order.
    coordinates = [s.geometry.centre_lps[axis] for s in series.slices]
    assert coordinates == sorted(coordinates)
    by_uid = {w.sop_instance_uid: w for w in written}
    assert [by_uid[s.sop_instance_uid].centre[axis] for s in series.slices] == pytest.approx(coordinates)
    instance_numbers = [s.instance_number for s in series.slices]
    assert instance_numbers != sorted(instance_numbers)  # the factory really shuffled them
    # Pixels travel with their slice.
    for s in series.slices:
        k = by_uid[s.sop_instance_uid].spatial_index
        np.testing.assert_array_equal(series.pixel_loader(s), dicom_factory.expected_pixels(spec, k))


def test_geometry_is_kept_per_slice_in_lps(dicom_factory):
    _, written = dicom_factory.series(orientation=dicom_factory.AXIAL, n_slices=3, pixel_spacing=(0.7, 0.9))
    series = load_study(dicom_factory.root).series[0]
    by_uid = {w.sop_instance_uid: w for w in written}
    for s in series.slices:
        g = s.geometry
        assert g.row_direction == (1.0, 0.0, 0.0)
        assert g.column_direction == (0.0, 1.0, 0.0)
        assert g.pixel_spacing_mm == (0.7, 0.9)
        assert (g.rows, g.columns) == (64, 64)
        assert g.slice_thickness_mm == 3.5
        np.testing.assert_allclose(g.centre_lps, by_uid[s.sop_instance_uid].centre, atol=1e-3)
    assert series.slice_spacing_mm == pytest.approx(4.0)
    assert not series.is_angled_stack


def test_oblique_series_beyond_the_threshold(dicom_factory):
    # Normal 45 degrees between axial and coronal: neither plane.
    dicom_factory.series(orientation=dicom_factory.tilted_axial(45.0))
    assert load_study(dicom_factory.root).series[0].orientation is Orientation.OBLIQUE


def test_disc_parallel_axials_tilted_30_degrees_are_still_axial(dicom_factory):
    dicom_factory.series(orientation=dicom_factory.tilted_axial(30.0))
    assert load_study(dicom_factory.root).series[0].orientation is Orientation.AXIAL


def test_angled_per_disc_stacks_sort_along_the_spine_and_keep_their_own_orientation(dicom_factory):
    spec = dicom_factory.spec(description="T2 AX discs", orientation=dicom_factory.AXIAL)
    tilts, levels_z = [-20.0, 5.0, 30.0, 12.0], [-90.0, -45.0, 0.0, 45.0]
    # Written in a scrambled stack order; expected order is feet to head.
    written = dicom_factory.write_angled_axial_series(
        dicom_factory.root / "ax", spec, tilts, levels_z, per_stack=4
    )
    series = load_study(dicom_factory.root).series[0]
    assert series.orientation is Orientation.AXIAL
    assert series.is_angled_stack
    assert len(series.slices) == 16
    assert _pixel_order(series) == list(range(16))
    by_uid = {w.sop_instance_uid: w for w in written}
    for s in series.slices:
        k = by_uid[s.sop_instance_uid].spatial_index
        expected_row, expected_column = dicom_factory.tilted_axial(tilts[k // 4])
        assert s.geometry.column_direction == pytest.approx(expected_column, abs=1e-6)
        assert s.geometry.row_direction == pytest.approx(expected_row, abs=1e-6)
    # No "gap" warnings for angled stacks: distances between tilted planes are not gaps.
    assert not [i for i in load_study(dicom_factory.root).load_report.issues if "gap" in i.reason]


def test_missing_geometry_falls_back_to_instance_number_order_with_a_warning(dicom_factory):
    _, written = dicom_factory.series(n_slices=5)
    broken = written[2].path
    ds = pydicom.dcmread(broken)
    del ds.ImageOrientationPatient
    ds.save_as(broken)
    study = load_study(dicom_factory.root)
    (series,) = study.series
    assert len(series.slices) == 5
    assert [s.instance_number for s in series.slices] == [1, 2, 3, 4, 5]
    (geometry_less,) = [s for s in series.slices if s.geometry is None]
    assert geometry_less.source_path == broken
    reasons = {(i.severity, i.reason) for i in study.load_report.issues}
    assert (IssueSeverity.WARNING, "no usable geometry (missing ImageOrientationPatient)") in reasons
    assert any("InstanceNumber order" in r for _, r in reasons)
    assert series.orientation is Orientation.SAGITTAL  # from the slices that have geometry


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("ImagePositionPatient", [1.0, 2.0], "ImagePositionPatient has 2 values instead of 3"),
        ("ImageOrientationPatient", [1, 0, 0, 1, 0, 0], "ImageOrientationPatient vectors are not orthogonal"),
        (
            "ImageOrientationPatient",
            [2, 0, 0, 0, 1, 0],
            "ImageOrientationPatient vectors are not unit length",
        ),
        ("PixelSpacing", [0, 0.5], "PixelSpacing is not positive"),
    ],
)
def test_broken_geometry_values_are_named_in_the_warning(dicom_factory, field, value, expected):
    _, written = dicom_factory.series(n_slices=3)
    ds = pydicom.dcmread(written[0].path)
    setattr(ds, field, value)
    ds.save_as(written[0].path)
    study = load_study(dicom_factory.root)
    assert len(study.series[0].slices) == 3
    assert any(expected in i.reason and i.path == str(written[0].path) for i in study.load_report.issues)


def test_a_missing_slice_is_reported_as_a_gap(dicom_factory):
    _, written = dicom_factory.series(n_slices=6)
    written[3].path.unlink()
    study = load_study(dicom_factory.root)
    assert len(study.series[0].slices) == 5
    gaps = [i for i in study.load_report.issues if "gap of 8.0 mm" in i.reason]
    assert len(gaps) == 1 and gaps[0].severity is IssueSeverity.WARNING


def test_enhanced_mr_frames_become_sorted_slices_with_per_frame_geometry(dicom_factory):
    spec = dicom_factory.spec(
        orientation=dicom_factory.CORONAL, n_slices=5, rescale=(0.5, 10.0), description="COR T2 enhanced"
    )
    order = dicom_factory.write_enhanced_mr(
        dicom_factory.root / "enh" / "multiframe.dcm", spec, frame_order=[3, 1, 0, 4, 2]
    )
    study = load_study(dicom_factory.root)
    (series,) = study.series
    assert series.orientation is Orientation.CORONAL
    assert len(series.slices) == 5
    assert _pixel_order_rescaled(series, spec) == list(range(5))
    # Each slice is one frame of the same instance.
    assert {s.sop_instance_uid for s in series.slices} == {series.slices[0].sop_instance_uid}
    assert [s.frame_index for s in series.slices] == [order.index(k) for k in range(5)]
    assert len({s.key for s in series.slices}) == 5
    for s in series.slices:
        assert s.rescale_slope == 0.5 and s.rescale_intercept == 10.0
    volume = series.volume()
    for k in range(5):
        np.testing.assert_array_equal(volume[k], dicom_factory.expected_pixels(spec, k))


def _pixel_order_rescaled(series, spec) -> list[int]:
    slope, intercept = spec.rescale
    return [
        round((series.slice_pixels(i)[0, 0] - intercept) / slope / 10) - 1 for i in range(len(series.slices))
    ]


def test_legacy_converted_enhanced_mr_from_highdicom(dicom_factory, tmp_path):
    """highdicom's converter writes a Legacy Converted Enhanced MR; it loads like the originals."""
    from highdicom.legacy import LegacyConvertedEnhancedMRImage

    spec = dicom_factory.spec(orientation=dicom_factory.AXIAL, n_slices=4, description="AX T1")
    singles = dicom_factory.write_series(tmp_path / "singles", spec)
    datasets = [pydicom.dcmread(w.path) for w in singles]
    converted = LegacyConvertedEnhancedMRImage(
        legacy_datasets=datasets,
        series_instance_uid=pydicom.uid.generate_uid(),
        series_number=9,
        sop_instance_uid=pydicom.uid.generate_uid(),
        instance_number=1,
    )
    (tmp_path / "converted").mkdir()
    converted.save_as(tmp_path / "converted" / "legacy.dcm")
    (series,) = load_study(tmp_path / "converted").series
    assert series.orientation is Orientation.AXIAL
    assert _pixel_order(series) == list(range(4))
    assert all(s.geometry is not None for s in series.slices)
    assert [round(s.geometry.centre_lps[2], 3) for s in series.slices] == [0.0, 4.0, 8.0, 12.0]

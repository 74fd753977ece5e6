"""Axial slices assigned to disc levels by 3D geometry, checked against the synthetic ground truth,
for a continuous stack and for short stacks angled to each disc; key slice per level."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import run_analysis
from engine.levels import assign_axial_slices_to_levels, key_slices
from engine.study.model import Orientation, Sequence


def _truth_levels(truth):
    series = truth.find_series("axial", "T2")
    return {sl.sop_instance_uid: sl for sl in series.slice_levels}


@pytest.mark.parametrize("fixture", ["loaded_continuous", "loaded_angled"])
def test_assignment_matches_the_ground_truth(fixture, request, oracle):
    study, truth = request.getfixturevalue(fixture)
    result = run_analysis(study, oracle(truth))
    expected = _truth_levels(truth)
    spacing = result.labelling.disc_spacing_mm
    compared = agreed = 0
    for entry in result.assignment:
        want = expected[entry.sop_instance_uid]
        # Slices half-way between two discs may go either way: compare the unambiguous ones.
        if want.level is None or abs(want.distance_to_disc_mm) > 0.35 * spacing:
            continue
        compared += 1
        agreed += entry.level == want.level
        if entry.level == want.level:
            assert entry.distance_to_disc_mm == pytest.approx(want.distance_to_disc_mm, abs=2.0)
    assert compared >= 15
    assert agreed == compared


@pytest.mark.parametrize("fixture", ["loaded_continuous", "loaded_angled"])
def test_key_slice_per_level_lies_at_the_disc(fixture, request, oracle):
    study, truth = request.getfixturevalue(fixture)
    result = run_analysis(study, oracle(truth))
    expected = _truth_levels(truth)
    assert set(result.key_slices) >= set(lv.level for lv in truth.levels)
    for level, key in result.key_slices.items():
        if level not in {lv.level for lv in truth.levels}:
            continue
        assert expected[key.sop_instance_uid].level == level
        assert abs(expected[key.sop_instance_uid].distance_to_disc_mm) < 4.0
        assert key.crosses_canal
        # No other slice of that level is both nearer the disc and as parallel to it.
        for entry in result.assignment:
            if entry.level == level and entry is not key:
                assert abs(entry.distance_to_disc_mm) + 0.1 * entry.angle_to_disc_deg >= (
                    abs(key.distance_to_disc_mm) + 0.1 * key.angle_to_disc_deg - 1e-9
                )
    if fixture == "loaded_angled":
        assert all(k.angle_to_disc_deg < 3.0 for k in result.key_slices.values())


def test_angled_stacks_are_assigned_without_a_canal_too(loaded_angled, oracle):
    study, truth = loaded_angled
    result = run_analysis(study, oracle(truth))
    axial = study.find_series(Orientation.AXIAL, Sequence.T2)
    lumbar, others = result.labelling.disc_levels()
    assignment = assign_axial_slices_to_levels(axial, (*lumbar, *others), centreline=None)
    expected = _truth_levels(truth)
    levels = [(a.level, expected[a.sop_instance_uid].level) for a in assignment]
    assert np.mean([mine == want for mine, want in levels if want is not None]) >= 0.9
    assert not any(a.crosses_canal for a in assignment)


def test_levels_beyond_the_axial_coverage_get_no_key_slice(loaded_continuous, oracle):
    study, truth = loaded_continuous
    result = run_analysis(study, oracle(truth))
    keys = key_slices(result.assignment, max_distance_mm=0.01)
    assert keys == {}

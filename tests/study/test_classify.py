"""Sequence and orientation rules, one documented rule at a time."""

from __future__ import annotations

import numpy as np
import pytest

from engine.study.classify import classify_sequence, nearest_plane, orientation_of
from engine.study.header import AcquisitionParameters
from engine.study.model import Orientation, Sequence


def _acq(**kwargs) -> AcquisitionParameters:
    return AcquisitionParameters(**kwargs)


@pytest.mark.parametrize(
    ("description", "acquisition", "expected"),
    [
        ("t2_tse_sag", _acq(), Sequence.T2),
        ("SAG T1 FSE", _acq(), Sequence.T1),
        ("SAGT2", _acq(), Sequence.T2),
        ("T2W_TSE_TRA", _acq(), Sequence.T2),
        ("t2_tirm_sag", _acq(), Sequence.STIR),  # Siemens TIRM
        ("SAG STIR", _acq(scanning_sequence=("IR",), inversion_time_ms=160), Sequence.STIR),
        ("", _acq(scanning_sequence=("IR",), inversion_time_ms=220, echo_time_ms=60), Sequence.STIR),
        ("T2 FLAIR", _acq(), Sequence.UNKNOWN),  # dark CSF: not a T2 for the canal
        ("T1 FLAIR SAG", _acq(), Sequence.T1),
        ("", _acq(scanning_sequence=("IR",), inversion_time_ms=2500, echo_time_ms=120), Sequence.UNKNOWN),
        (
            "",
            _acq(scanning_sequence=("IR",), inversion_time_ms=860, echo_time_ms=10, repetition_time_ms=2000),
            Sequence.T1,
        ),
        ("", _acq(scanning_sequence=("SE",), echo_time_ms=10, repetition_time_ms=500), Sequence.T1),
        ("", _acq(scanning_sequence=("SE",), echo_time_ms=100, repetition_time_ms=3500), Sequence.T2),
        (
            "",
            _acq(scanning_sequence=("SE",), echo_time_ms=15, repetition_time_ms=3000),
            Sequence.UNKNOWN,
        ),  # PD
        ("", _acq(scanning_sequence=("GR",), echo_time_ms=5, repetition_time_ms=300), Sequence.UNKNOWN),
        ("", _acq(echo_time_ms=100, repetition_time_ms=3500), Sequence.T2),  # no ScanningSequence
        ("", _acq(acquisition_contrast="T1"), Sequence.T1),  # Enhanced MR
        ("T1 T2 mapping", _acq(echo_time_ms=90, repetition_time_ms=4000), Sequence.T2),  # text ambiguous
        ("MPR T10", _acq(), Sequence.UNKNOWN),  # "T10" is not T1
        ("AX", _acq(protocol_name="t2_tse_tra_p2"), Sequence.T2),  # protocol name counts
    ],
)
def test_sequence_rules(description, acquisition, expected):
    assert classify_sequence(description, acquisition) is expected


@pytest.mark.parametrize(
    ("normal", "expected"),
    [
        ((1, 0, 0), Orientation.SAGITTAL),
        ((-0.95, 0.2, 0.1), Orientation.SAGITTAL),
        ((0, 1, 0), Orientation.CORONAL),
        ((0, 0, -1), Orientation.AXIAL),
        ((0, np.sin(np.radians(35)), np.cos(np.radians(35))), Orientation.AXIAL),
        ((0, np.sin(np.radians(44)), np.cos(np.radians(44))), Orientation.OBLIQUE),
        ((1, 1, 1), Orientation.OBLIQUE),
    ],
)
def test_orientation_from_the_mean_normal(normal, expected):
    assert orientation_of(np.asarray(normal, dtype=float)) is expected


def test_orientation_without_geometry_is_unknown_and_nearest_plane_never_oblique():
    assert orientation_of(None) is Orientation.UNKNOWN
    assert nearest_plane(np.array([0.6, 0.58, 0.55])) is Orientation.SAGITTAL

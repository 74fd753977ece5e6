"""Level labelling on the sagittal series: disc geometry, counting from the sacrum, lumbar-only
fields of view, a missed disc, a missing sacrum, and a person's relabelling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.analysis import LevelsNotFoundError, run_analysis
from engine.findings import DISC_LEVELS, DiscLevel
from engine.levels import LevelLabelError, find_disc_candidates, override_level_labels
from engine.study.model import SliceGeometry


def _sagittal_geometry(size: int = 200, spacing: float = 1.0) -> SliceGeometry:
    # Columns run anterior -> posterior, rows superior -> inferior, as in a usual sagittal series.
    return SliceGeometry((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (spacing, spacing), size, size)


def _angle_deg(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.degrees(np.arccos(min(1.0, abs(a @ b) / np.linalg.norm(a) / np.linalg.norm(b)))))


def test_disc_candidate_centre_and_normal_follow_a_tilted_ellipse():
    geometry = _sagittal_geometry()
    probability = np.zeros((200, 200), np.float32)
    # 40 x 10 mm disc centred at row 80, column 120, its long axis turned 20 degrees on screen.
    cv2.ellipse(probability, (120, 80), (20, 5), 20.0, 0, 360, 1.0, -1)
    cv2.circle(probability, (20, 20), 2, 1.0, -1)  # a speck: too small to be a disc
    (disc,) = find_disc_candidates(probability, geometry)
    assert disc.centre_rc == pytest.approx((80.0, 120.0), abs=0.5)
    assert np.allclose(disc.centre_lps, geometry.pixel_to_lps(80.0, 120.0), atol=0.5)
    assert disc.normal_lps[2] > 0  # cranial
    assert _angle_deg(disc.normal_lps, (0.0, 0.0, 1.0)) == pytest.approx(20.0, abs=2.0)
    assert disc.width_mm == pytest.approx(41.0, abs=2.0) and disc.height_mm == pytest.approx(11.0, abs=2.0)
    assert disc.major_axis_lps[1] > 0  # points posterior


def test_discs_joined_by_a_thin_bridge_or_overlapping_bone_are_separated():
    geometry = _sagittal_geometry()
    disc = np.zeros((200, 200), np.float32)
    cv2.ellipse(disc, (100, 60), (20, 5), 0.0, 0, 360, 0.9, -1)
    cv2.ellipse(disc, (100, 100), (20, 5), 0.0, 0, 360, 0.9, -1)
    disc[60:100, 119:121] = 0.9  # a 2-pixel bridge along the front of the spine
    assert len(find_disc_candidates(disc, geometry)) == 2
    # A blurry model: the disc mask runs through the vertebral body, which the vertebra mask claims.
    blurry = np.zeros((200, 200), np.float32)
    blurry[55:106, 80:121] = 0.6
    vertebra = np.zeros((200, 200), np.float32)
    vertebra[66:95, 78:123] = 0.95
    assert find_disc_candidates(blurry, geometry) == ()  # one tall blob: not a disc
    assert len(find_disc_candidates(blurry, geometry, vertebra_probability=vertebra)) == 2


def test_a_disc_missing_its_middle_is_one_disc_centred_on_its_extent():
    geometry = _sagittal_geometry()
    probability = np.zeros((200, 200), np.float32)
    # A 40 x 10 mm disc whose dark nucleus the model missed: an anterior piece (12 mm wide) and a
    # posterior one (6 mm wide, smaller than a disc alone), 22 mm apart; the next disc 35 mm lower.
    cv2.ellipse(probability, (100, 80), (20, 5), 0.0, 0, 360, 0.9, -1)
    probability[70:91, 92:114] = 0.0
    cv2.ellipse(probability, (100, 115), (20, 5), 0.0, 0, 360, 0.9, -1)
    # A whole disc keeps its own centre: a speck of "disc" in the canal behind it is not joined.
    cv2.circle(probability, (132, 115), 2, 0.9, -1)
    upper, lower = find_disc_candidates(probability, geometry)
    assert upper.centre_rc == pytest.approx((80.0, 100.0), abs=1.0)
    assert upper.width_mm == pytest.approx(41.0, abs=2.0)
    assert lower.centre_rc == pytest.approx((115.0, 100.0), abs=0.5)


def test_a_round_blob_is_not_a_disc():
    probability = np.zeros((200, 200), np.float32)
    cv2.circle(probability, (100, 100), 12, 1.0, -1)
    assert find_disc_candidates(probability, _sagittal_geometry()) == ()


@pytest.mark.parametrize("fixture", ["loaded_continuous", "loaded_angled"])
def test_levels_are_labelled_from_the_sacrum_up(fixture, request, oracle):
    study, truth = request.getfixturevalue(fixture)
    result = run_analysis(study, oracle(truth))
    labelling = result.labelling
    assert labelling.sacrum_identified
    assert [d.label for d in result.findings.levels] == list(DISC_LEVELS)
    for disc in result.findings.levels:
        expected = truth.level(disc.label)
        assert np.linalg.norm(np.subtract(disc.centre_lps, expected.disc_centre_lps)) < 3.0, disc.label
        assert _angle_deg(disc.normal_lps, expected.disc_normal_lps) < 6.0, disc.label
        assert disc.confidence > 0.8
    # The synthetic field of view reaches the lower thoracic spine: T12-L1 is found, not analysed.
    assert [d.label for d in result.findings.other_discs][-1] == "T12-L1"
    assert not result.findings.warnings


def _hide_sagittal(structure_name, predicate):
    """A hide function for the oracle: zero `structure_name` where predicate(lps points) holds."""

    def hide(structure, mask, image):
        if image.plane != "sagittal" or structure != structure_name:
            return mask
        geometry = image.image_slice.geometry
        rows, columns = np.indices(mask.shape)
        points = geometry.pixel_to_lps(rows, columns)
        return np.where(predicate(points), 0.0, mask).astype(np.float32)

    return hide


def test_lumbar_only_field_of_view_without_t12_l1(loaded_continuous, oracle):
    study, truth = loaded_continuous
    top = truth.level("L1-L2").disc_centre_lps[2] + 12.0
    hide = _hide_sagittal("intervertebral disc", lambda p: p[..., 2] > top)
    result = run_analysis(study, oracle(truth, hide))
    assert [d.label for d in result.findings.levels] == list(DISC_LEVELS)
    assert result.findings.other_discs == ()


def test_without_the_sacrum_the_lowest_disc_is_l5_s1_with_lower_confidence(loaded_continuous, oracle):
    study, truth = loaded_continuous
    bottom = truth.level("L5-S1").disc_centre_lps[2]
    full = run_analysis(study, oracle(truth))
    hide = _hide_sagittal("vertebra", lambda p: p[..., 2] < bottom)
    result = run_analysis(study, oracle(truth, hide))
    assert not result.labelling.sacrum_identified
    assert [d.label for d in result.findings.levels] == list(DISC_LEVELS)
    assert any("sacrum was not identified" in w for w in result.findings.warnings)
    for before, after in zip(full.findings.levels, result.findings.levels, strict=True):
        assert after.confidence < before.confidence


def test_a_missed_disc_is_counted_across_the_gap(loaded_angled, oracle):
    study, truth = loaded_angled
    centre = np.asarray(truth.level("L3-L4").disc_centre_lps)
    hide = _hide_sagittal("intervertebral disc", lambda p: np.abs(p[..., 2] - centre[2]) < 9.0)
    result = run_analysis(study, oracle(truth, hide))
    labels = [d.label for d in result.findings.levels]
    assert labels == ["L1-L2", "L2-L3", "L4-L5", "L5-S1"]
    assert result.labelling.skipped_labels == ("L3-L4",)
    for disc in result.findings.levels:
        assert np.linalg.norm(np.subtract(disc.centre_lps, truth.level(disc.label).disc_centre_lps)) < 3.0
    assert any("disc seems missing" in w for w in result.findings.warnings)
    above = {d.label: d.confidence for d in result.findings.levels}
    assert above["L2-L3"] < above["L4-L5"]  # labels above a gap are less certain
    assert result.findings.finding_for("L3-L4") is None


def test_no_discs_means_levels_not_found(loaded_continuous, oracle):
    study, truth = loaded_continuous
    hide = _hide_sagittal("intervertebral disc", lambda p: np.ones(p.shape[:-1], bool))
    with pytest.raises(LevelsNotFoundError, match="0 intervertebral disc"):
        run_analysis(study, oracle(truth, hide))


def _disc(label: str, z: float) -> DiscLevel:
    return DiscLevel(label, (0.0, 0.0, z), (0.0, 0.0, 1.0), 0.9, "1.2.3", "1.2.3.4")


def test_override_on_disc_levels_is_simultaneous_and_marks_the_edit():
    discs = (_disc("L4-L5", 10.0), _disc("L5-S1", 0.0))
    shifted = override_level_labels(discs, {"L4-L5": "L5-S1", "L5-S1": "S1-S2"})
    assert [(d.label, d.label_overridden) for d in shifted] == [("L5-S1", True), ("S1-S2", True)]
    assert override_level_labels(discs, {}) == discs


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"L3-L4": "L4-L5"}, "no disc is labelled L3-L4"),
        ({"L4-L5": "L5-S1"}, "two discs would be labelled L5-S1"),
        ({"L4-L5": "disc 4"}, "not a disc level label"),
    ],
)
def test_impossible_relabelling_is_refused(mapping, message):
    with pytest.raises(LevelLabelError, match=message):
        override_level_labels((_disc("L4-L5", 10.0), _disc("L5-S1", 0.0)), mapping)


def test_relabelling_findings_moves_them_with_their_discs(loaded_continuous, oracle):
    study, truth = loaded_continuous
    findings = run_analysis(study, oracle(truth)).findings
    # A lumbarised S1: every disc one level lower than counted.
    shift = {
        "T12-L1": "L1-L2",
        "L1-L2": "L2-L3",
        "L2-L3": "L3-L4",
        "L3-L4": "L4-L5",
        "L4-L5": "L5-S1",
        "L5-S1": "L6-S1",
    }
    relabelled = override_level_labels(findings, shift)
    assert [d.label for d in relabelled.levels] == [*DISC_LEVELS, "L6-S1"]
    assert all(d.label_overridden for d in relabelled.levels)
    before = {f.level: f for f in findings.findings}
    after = {f.level: f for f in relabelled.findings}
    assert set(after) == {"L2-L3", "L3-L4", "L4-L5", "L5-S1", "L6-S1"}  # new L1-L2 has no finding yet
    for old, new in shift.items():
        if old in before:
            assert after[new].grade == before[old].grade
            assert after[new].key_slice_sop_instance_uid == before[old].key_slice_sop_instance_uid
    assert "T12-L1 -> L1-L2" in relabelled.warnings[-1]
    assert relabelled.other_discs[-1].label == "T11-T12"

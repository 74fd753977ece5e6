"""Report-conditioned pseudo-masks: accepted when image and text agree, rejected with a reason when
they do not; the axial slice choice from disc geometry; the site targets and their tally."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.evaluation import dice_and_iou
from engine.site_data.level_geometry import DiscPlane, choose_axial_slice, read_disc_planes
from engine.site_data.level_targets import PSEUDO_MASK, SITE_MASK, level_targets, tally_targets
from engine.site_data.pseudo_mask_evaluation import (
    evaluate_synthetic_study,
    strip_explicit_grades,
    summarise_pseudo_mask_cases,
)
from engine.site_data.pseudo_masks import RejectionReason, dural_sac_pseudo_mask, three_class_otsu
from engine.site_data.severity import Severity
from engine.site_data.validation import validate_site_folder


@pytest.fixture(scope="module")
def level_l1_l2(site_template):
    """(pixels, spacing, canal point, true sac mask) on the L1-L2 slice (grade A, 'none' in the report)."""
    report = validate_site_folder(site_template)
    level = next(lv for lv in report.levels if lv.label.level == "L1-L2")
    site_study = report.study(level.study_id)
    series = site_study.study.series_by_uid(level.slice.series_instance_uid)
    geometry = series.slices[level.slice.slice_index].geometry
    truth = site_study.series_masks(level.slice.series_instance_uid).mask(
        "dural sac", level.slice.sop_instance_uid
    )
    return (
        series.slice_pixels(level.slice.slice_index),
        geometry.pixel_spacing_mm,
        level.slice.canal_rc,
        truth,
    )


def test_three_class_otsu_separates_three_levels():
    grey = np.repeat(np.array([20, 120, 230], dtype=np.uint8), 100).reshape(3, 100)
    low, high = three_class_otsu(grey)
    assert 20 < low <= 120 < high <= 230


def test_text_that_agrees_with_the_image_gives_an_accepted_mask(level_l1_l2):
    pixels, spacing, canal, truth = level_l1_l2
    result = dural_sac_pseudo_mask(pixels, spacing, canal, Severity.NONE)
    assert result.accepted and result.reason is None
    assert dice_and_iou(result.mask, truth)[0] > 0.75
    assert result.expected.contains(result.area_mm2)


def test_text_that_contradicts_the_image_is_rejected_with_its_reason(level_l1_l2):
    pixels, spacing, canal, _ = level_l1_l2
    stated = dural_sac_pseudo_mask(pixels, spacing, canal, Severity.NONE, stated_area_mm2=40.0)
    assert not stated.accepted and stated.mask is None
    assert stated.reason is RejectionReason.AREA_OUT_OF_RANGE and "outside [26, 54]" in stated.detail
    assert stated.candidate is not None  # kept for inspection, never returned as the mask
    far = dural_sac_pseudo_mask(pixels, spacing, (canal[0] - 60, canal[1] + 60), Severity.NONE)
    assert not far.accepted and far.mask is None and far.reason is not None
    silent = dural_sac_pseudo_mask(pixels, spacing, canal, None)
    assert silent.reason is RejectionReason.NO_SEVERITY and silent.candidate is None


def test_slice_choice_none_when_the_disc_is_outside_the_stack(site_template):
    report = validate_site_folder(site_template)
    study = report.study("study-7").study
    plane = report.study("study-7").disc_planes["L3-L4"]
    assert choose_axial_slice(study.series, plane) is not None
    moved = DiscPlane(
        "L3-L4", (plane.centre_lps[0], plane.centre_lps[1], plane.centre_lps[2] + 200), plane.normal_lps
    )
    assert choose_axial_slice(study.series, moved) is None


def test_levels_file_errors_name_the_entry(tmp_path):
    path = tmp_path / "levels.json"
    path.write_text(json.dumps({"levels": [{"label": "L4-L5", "centre_lps": [0, 0]}]}))
    with pytest.raises(ValueError, match=r"levels\[0\]"):
        read_disc_planes(path)
    path.write_text(
        json.dumps({"levels": [{"label": "T12-L1", "centre_lps": [0, 0, 0], "normal_lps": [0, 0, 1]}]})
    )
    assert read_disc_planes(path) == {}


def test_site_without_masks_trains_on_accepted_pseudo_masks_only(site):
    import shutil

    shutil.rmtree(site / "masks")
    targets = level_targets(validate_site_folder(site))
    tally = tally_targets(targets)
    assert tally["pseudo_masks_tried"] == 5
    assert tally["per_source"].get(PSEUDO_MASK, 0) == tally["pseudo_masks_accepted"] >= 1
    assert sum(tally["pseudo_mask_rejections"].values()) == 5 - tally["pseudo_masks_accepted"]
    for target in targets:
        assert (target.source == PSEUDO_MASK) == bool(target.masks)


def test_site_masks_win_over_pseudo_masks(site):
    targets = level_targets(validate_site_folder(site))
    assert {t.source for t in targets} == {SITE_MASK}
    assert all(t.pseudo is None for t in targets)


def test_synthetic_evaluation_counts_and_strips_explicit_grades(synthetic_study):
    assert strip_explicit_grades("bulge (Schizas B, DSCA approx. 77 mm²).") == "bulge ."
    cases = evaluate_synthetic_study(synthetic_study, words_only=True)
    summary = summarise_pseudo_mask_cases(cases)
    block = summary["all"]
    assert block["levels"] == 5 and block["accepted"] + block["rejected"] == 5
    assert block["accepted"] >= 1 and block["dice_accepted"]["estimate"] > 0.7
    assert sum(block["rejection_reasons"].values()) == block["rejected"]

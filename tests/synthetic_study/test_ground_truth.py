"""The ground truth says what the images show: grades, dural sac areas, masks, slice levels."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest

from engine.findings import DISC_LEVELS, SchizasGrade
from engine.synthetic_study import GroundTruth, GroundTruthError, read_ground_truth
from engine.synthetic_study.anatomy import build_anatomy
from engine.synthetic_study.grades import DSCA_RANGE_MM2, draw_level_grades
from engine.synthetic_study.label_field import evaluate
from engine.synthetic_study.labels import STRUCTURES, Label

from .conftest import dicom_files

GRADES = tuple(SchizasGrade(g) for g in "ABCDA")


def _pixels_by_uid(gt: GroundTruth) -> dict[str, np.ndarray]:
    out = {}
    for f in dicom_files(gt.root):
        ds = pydicom.dcmread(str(f))
        out[ds.SOPInstanceUID] = ds.pixel_array.astype(np.float32)
    return out


def _plane_area_mm2(anatomy, level: str, labels: tuple[Label, ...], step: float = 0.1) -> float:
    """Area of `labels` on a fine grid in the disc plane (perpendicular to the canal)."""
    centre = anatomy.canal_point_lps(level)
    normal = anatomy.disc_normal_lps(level)
    row = np.array([1.0, 0.0, 0.0])
    col = np.cross(normal, row)
    grid = np.arange(-20.0, 20.0, step) + step / 2
    gu, gv = np.meshgrid(grid, grid)
    pts = centre + gu.ravel()[:, None] * row + gv.ravel()[:, None] * col
    lab = evaluate(anatomy, pts).label
    return float(np.isin(lab, [int(x) for x in labels]).sum() * step * step)


def test_forced_grades_are_written_with_areas_in_their_ranges(angled_study: GroundTruth) -> None:
    assert [lv.level for lv in angled_study.levels] == list(DISC_LEVELS)
    assert tuple(lv.grade for lv in angled_study.levels) == GRADES
    for lv in angled_study.levels:
        lo, hi = DSCA_RANGE_MM2[lv.grade]
        assert lo <= lv.dural_sac_area_mm2 < hi
        assert np.linalg.norm(lv.disc_normal_lps) == pytest.approx(1.0, abs=1e-6)
        assert lv.disc_normal_lps[2] > 0.5  # points cranially


def test_grades_are_ordered_by_dural_sac_area_across_seeds() -> None:
    for seed in range(4):
        rng = np.random.default_rng(seed)
        anatomy = build_anatomy(
            rng, draw_level_grades(np.random.default_rng(seed + 100)) if seed % 2 else GRADES
        )
        by_grade = {}
        for lv in anatomy.levels:
            by_grade.setdefault(lv.grade.value, []).append(lv.dural_sac_area_mm2)
        present = sorted(by_grade)
        for worse, better in zip(present[1:], present[:-1], strict=True):
            assert max(by_grade[worse]) < min(by_grade[better])
        aps = {lv.grade: lv.ap_diameter_mm for lv in anatomy.levels}
        if SchizasGrade.D in aps:
            assert aps[SchizasGrade.D] < 10.0  # absolute stenosis by AP diameter too


def test_gt_area_matches_the_label_field_in_the_disc_plane() -> None:
    anatomy = build_anatomy(np.random.default_rng(11), GRADES)
    sac = STRUCTURES["dural sac"]
    for lv in anatomy.levels:
        measured = _plane_area_mm2(anatomy, lv.level, sac)
        assert measured == pytest.approx(lv.dural_sac_area_mm2, rel=0.02), lv.level


def test_schizas_appearance_csf_rootlets_and_posterior_fat_at_the_disc() -> None:
    anatomy = build_anatomy(np.random.default_rng(11), GRADES)
    for lv in anatomy.levels:
        csf = _plane_area_mm2(anatomy, lv.level, (Label.CSF,), step=0.2)
        roots = _plane_area_mm2(anatomy, lv.level, (Label.CAUDA_EQUINA,), step=0.2)
        fat = _plane_area_mm2(anatomy, lv.level, (Label.POSTERIOR_EPIDURAL_FAT,), step=0.2)
        if lv.grade is SchizasGrade.A:
            assert csf > 0.6 * lv.dural_sac_area_mm2 and roots > 5.0  # CSF with dispersed rootlets
        elif lv.grade is SchizasGrade.B:
            assert 0.1 * lv.dural_sac_area_mm2 < csf < 0.6 * lv.dural_sac_area_mm2  # crowded but separable
        else:
            assert csf < 0.03 * lv.dural_sac_area_mm2  # homogeneous grey sac
        if lv.grade is SchizasGrade.D:
            assert fat == 0.0
        else:
            assert fat > 2.0, lv.level


def test_mask_on_the_key_axial_slice_matches_gt_area(angled_study: GroundTruth) -> None:
    axial = angled_study.find_series("axial", "T2")
    masks = angled_study.load_mask(axial)
    area_px = axial.pixel_spacing_mm[0] * axial.pixel_spacing_mm[1]
    for lv in angled_study.levels:
        k = min(
            (i for i, sl in enumerate(axial.slice_levels) if sl.level == lv.level),
            key=lambda i: abs(axial.slice_levels[i].distance_to_disc_mm or 99.0),
        )
        assert abs(axial.slice_levels[k].distance_to_disc_mm or 99.0) < 2.5
        area = angled_study.structure_mask(masks[k], "dural sac").sum() * area_px
        assert area == pytest.approx(lv.dural_sac_area_mm2, rel=0.2), lv.level


def test_masks_align_with_pixels(angled_study: GroundTruth) -> None:
    pixels = _pixels_by_uid(angled_study)
    axial = angled_study.find_series("axial", "T2")
    masks = angled_study.load_mask(axial)
    csf, muscle = [], []
    for k, uid in enumerate(axial.sop_instance_uids):
        img, lab = pixels[uid], masks[k]
        csf += list(img[lab == Label.CSF])
        muscle += list(img[lab == Label.PARASPINAL_MUSCLE])
    assert np.mean(csf) > 2.0 * np.mean(muscle)  # bright CSF on T2 exactly where the mask says
    sag_t1 = angled_study.find_series("sagittal", "T1")
    sag_masks = angled_study.load_mask(sag_t1)
    t1_csf, t1_fat = [], []
    for k, uid in enumerate(sag_t1.sop_instance_uids):
        img, lab = pixels[uid], sag_masks[k]
        t1_csf += list(img[lab == Label.CSF])
        t1_fat += list(img[lab == Label.SUBCUTANEOUS_FAT])
    assert np.mean(t1_fat) > 2.0 * np.mean(t1_csf)  # dark CSF, bright fat on T1


def test_angled_stacks_are_parallel_to_their_discs(angled_study: GroundTruth) -> None:
    axial = angled_study.find_series("axial", "T2")
    assert axial.axial_style == "angled"
    for geom, sl in zip(axial.slice_geometry, axial.slice_levels, strict=True):
        iop = np.asarray(geom.image_orientation_patient)
        normal = np.cross(iop[:3], iop[3:])
        disc = np.asarray(angled_study.level(sl.level).disc_normal_lps)
        angle = np.degrees(np.arccos(min(abs(float(np.dot(normal, disc))), 1.0)))
        assert angle < 2.0
    per_level = {lv: sum(sl.level == lv for sl in axial.slice_levels) for lv in DISC_LEVELS}
    assert set(per_level.values()) <= {3, 4, 5} and len(set(per_level.values())) == 1


def test_continuous_stack_covers_all_levels(continuous_study: GroundTruth) -> None:
    axial = continuous_study.find_series("axial", "T2")
    assert axial.axial_style == "continuous"
    iops = {g.image_orientation_patient for g in axial.slice_geometry}
    assert len(iops) == 1
    nearest = {}
    for sl in axial.slice_levels:
        if sl.level is not None:
            nearest[sl.level] = min(nearest.get(sl.level, 99.0), abs(sl.distance_to_disc_mm or 99.0))
    assert set(nearest) == set(DISC_LEVELS)
    assert max(nearest.values()) < 5.0  # a slice within a slice spacing of every disc


def test_reader_round_trips_and_names_a_broken_file(angled_study: GroundTruth, tmp_path) -> None:
    again = read_ground_truth(angled_study.root)
    assert again == angled_study
    raw = json.loads((angled_study.root / "ground_truth" / "ground_truth.json").read_text())
    assert raw["schema_version"] == "1.0"
    assert set(raw["labels"]) >= {"0", "1"} and raw["structures"]["dural sac"]
    (tmp_path / "ground_truth").mkdir()
    (tmp_path / "ground_truth" / "ground_truth.json").write_text('{"schema_version": "1.0"}')
    with pytest.raises(GroundTruthError, match=r"ground_truth\.json"):
        read_ground_truth(tmp_path)

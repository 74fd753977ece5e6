"""`lss data check`: a clean site folder, and each kind of problem named with its file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np

from engine.cli.main import main as lss
from engine.site_data.problems import ProblemCode, ProblemSeverity
from engine.site_data.validation import validate_site_folder

STUDY = "study-7"


def _codes(site: Path) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for p in validate_site_folder(site).problems:
        found.setdefault(p.code.value, []).append((p.path, p.severity.value))
    return found


def test_clean_site_has_no_problem_and_counts_per_grade(site):
    report = validate_site_folder(site)
    assert report.problems == () and report.usable
    summary = report.summary()
    assert summary["labels_per_grade"] == {"A": 2, "B": 1, "C": 1, "D": 1}
    assert summary["located_levels_per_grade"] == {"A": 2, "B": 1, "C": 1, "D": 1}
    assert summary["located_levels_with_masks"] == 5
    assert {lv.label.level for lv in report.levels} == {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"}


def test_the_chosen_slice_is_the_ground_truths_slice_at_the_disc(site, synthetic_study):
    from engine.synthetic_study import read_ground_truth

    truth = read_ground_truth(synthetic_study)
    axial = truth.find_series("axial", "T2")
    for level in validate_site_folder(site).levels:
        at_level = [s for s in axial.slice_levels if s.level == level.label.level]
        nearest = min(at_level, key=lambda s: abs(s.distance_to_disc_mm or 99))
        assert level.slice.sop_instance_uid == nearest.sop_instance_uid


def test_label_problems_are_named_by_line(site):
    with (site / "labels.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            f"{STUDY},L4/5,E,\n{STUDY},L9-L10,A,\nnowhere,L1-L2,A,\n{STUDY},L1-L2,B,\n{STUDY},L5-S1,A,-3\n"
        )
    codes = _codes(site)
    assert codes["unknown-grade"] == [("labels.csv:7", "blocking")]
    assert codes["unknown-level"] == [("labels.csv:8", "blocking")]
    assert codes["unknown-study"] == [("labels.csv:9", "blocking")]
    assert codes["conflicting-labels"] == [("labels.csv:10", "blocking")]
    assert codes["invalid-value"] == [("labels.csv:11", "blocking")]


def test_unreadable_dicom_is_named_and_skipped(site):
    broken = site / "studies" / STUDY / "broken.dcm"
    broken.write_bytes(b"DICM" + b"\0" * 50)
    codes = _codes(site)
    assert codes["unreadable-dicom"] == [(f"studies/{STUDY}/broken.dcm", "warning")]
    assert validate_site_folder(site).usable


def test_duplicate_study_and_missing_labels(site):
    shutil.copytree(site / "studies" / STUDY, site / "studies" / "copy-of-7")
    duplicate = [p for p in validate_site_folder(site).problems if p.code is ProblemCode.DUPLICATE_STUDY]
    assert [(p.path, p.severity, p.message) for p in duplicate] == [
        (f"studies/{STUDY}", ProblemSeverity.BLOCKING, "same StudyInstanceUID as studies/copy-of-7")
    ]
    (site / "labels.csv").unlink()
    assert ("labels.csv", "blocking") in _codes(site)["missing-file"]


def test_level_not_covered_and_without_geometry(site):
    levels = site / "levels" / f"{STUDY}.json"
    data = json.loads(levels.read_text())
    data["levels"][0]["centre_lps"][2] += 300.0  # L1-L2 moved far outside the axial stack
    data["levels"] = data["levels"][:4]  # L5-S1 no longer located
    levels.write_text(json.dumps(data))
    report = validate_site_folder(site)
    by_code = {p.code: p for p in report.problems}
    assert "no axial slice through L1-L2" in by_code[ProblemCode.LEVEL_NOT_COVERED].message
    assert "L5-S1" in by_code[ProblemCode.NO_LEVEL_GEOMETRY].message
    assert all(p.severity is ProblemSeverity.BLOCKING for p in report.problems)
    assert len(report.levels) == 3


def test_key_sop_instance_uid_locates_a_level(site):
    levels = validate_site_folder(site).levels
    key = levels[0].slice.sop_instance_uid
    shutil.rmtree(site / "levels")
    (site / "labels.csv").write_text(
        f"study,level,grade,key_sop_instance_uid\n{STUDY},L1-L2,A,{key}\n{STUDY},L2-L3,B,1.2.3.4\n",
        encoding="utf-8",
    )
    report = validate_site_folder(site)
    assert [lv.slice.sop_instance_uid for lv in report.levels] == [key]
    assert [(p.path, p.code) for p in report.problems] == [("labels.csv:3", ProblemCode.LEVEL_NOT_COVERED)]


def test_mask_with_wrong_geometry_is_blocking(site):
    mask_path = next((site / "masks" / STUDY).glob("*.nii.gz"))
    image = nib.load(str(mask_path))
    shifted = image.affine.copy()
    shifted[:3, 3] += 5.0
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj), shifted), str(mask_path))
    codes = _codes(site)
    assert codes["mask-geometry-mismatch"] == [(f"masks/{STUDY}/{mask_path.name}", "blocking")]
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj)[:, :, :-1], image.affine), str(mask_path))
    message = next(p.message for p in validate_site_folder(site).problems)
    assert "(slices, rows, columns)" in message


def test_dicom_seg_masks_are_read_and_checked(site):
    from engine.export.dicom_seg import build_segmentations
    from engine.findings import SliceMask

    report = validate_site_folder(site)
    study = report.study(STUDY).study
    level = report.levels[0]
    nifti = report.study(STUDY).series_masks(level.slice.series_instance_uid)
    sac = nifti.mask("dural sac", level.slice.sop_instance_uid)
    for path in (site / "masks" / STUDY).glob("*.nii.gz"):
        path.unlink()
    seg = build_segmentations(
        study,
        [SliceMask("dural sac", level.slice.series_instance_uid, level.slice.sop_instance_uid, None, sac)],
        first_series_number=900,
    ).segmentations[0]
    seg.save_as(str(site / "masks" / STUDY / "seg.dcm"))
    report = validate_site_folder(site)
    assert report.problems == ()
    assert [lv.has_mask for lv in report.levels].count(True) == 1
    assert np.array_equal(report.study(STUDY).masks[0].mask("dural sac", level.slice.sop_instance_uid), sac)
    seg.Rows = seg.Rows + 1
    seg.save_as(str(site / "masks" / STUDY / "seg.dcm"))
    assert [p.code for p in validate_site_folder(site).problems] == [ProblemCode.MASK_GEOMETRY_MISMATCH]


def test_cli_check_exit_codes_and_json(site, capsys):
    assert lss(["data", "check", str(site)]) == 0
    assert "labels per grade: A 2, B 1, C 1, D 1" in capsys.readouterr().out
    (site / "labels.csv").write_text("study,level\nx,L1-L2\n", encoding="utf-8")
    assert lss(["data", "check", str(site), "--json"]) == 7
    out = json.loads(capsys.readouterr().out)
    assert out["blocking_problems"] == 1
    assert out["problems"][0]["message"] == "missing column(s) grade"

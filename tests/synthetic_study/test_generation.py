"""Determinism, class balance, reference reports and the `lss demo-study` command."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest

from engine.findings import DISC_LEVELS, SchizasGrade
from engine.synthetic_study import GroundTruth, sample_level_grades, write_study
from engine.synthetic_study.grades import GRADE_ORDER, expected_grade_frequencies
from engine.synthetic_study.report_text import SEVERITY_WORDS, format_level

from .conftest import dicom_files


def _pixels(root: Path) -> dict[str, bytes]:
    out = {}
    for f in dicom_files(root):
        ds = pydicom.dcmread(str(f))
        out[ds.SOPInstanceUID] = ds.PixelData
    return out


def test_same_seed_gives_byte_identical_pixels_masks_and_uids(
    angled_study: GroundTruth, tmp_path: Path
) -> None:
    again = write_study(tmp_path / "again", 11, grades="A,B,C,D,A", axial_style="angled", max_matrix=128)
    assert _pixels(again.root) == _pixels(angled_study.root)
    for a, b in zip(again.series, angled_study.series, strict=True):
        assert a.sop_instance_uids == b.sop_instance_uids
        np.testing.assert_array_equal(again.load_mask(a), angled_study.load_mask(b))
    assert again.reference_report == angled_study.reference_report
    other = write_study(tmp_path / "other", 12, max_matrix=48)
    assert other.study_instance_uid != angled_study.study_instance_uid
    assert not set(_pixels(other.root)) & set(_pixels(angled_study.root))


def test_existing_output_is_kept_unless_overwrite(tmp_path: Path) -> None:
    write_study(tmp_path, 5, max_matrix=40)
    before = sorted(p.name for p in dicom_files(tmp_path))
    with pytest.raises(FileExistsError, match="study"):
        write_study(tmp_path, 6, max_matrix=40)
    assert sorted(p.name for p in dicom_files(tmp_path)) == before
    gt = write_study(tmp_path, 6, max_matrix=40, overwrite=True)
    assert gt.seed == 6


def test_default_grades_follow_the_practice_imbalance() -> None:
    seeds = range(3000)
    draws = [sample_level_grades(s) for s in seeds]
    counts = Counter(g for d in draws for g in d)
    total = sum(counts.values())
    for grade, expected in expected_grade_frequencies().items():
        assert counts[grade] / total == pytest.approx(expected, abs=0.02), grade
    assert expected_grade_frequencies()[SchizasGrade.A] > 0.5 > expected_grade_frequencies()[SchizasGrade.B]
    severe = {
        lv: sum(d[i] in (SchizasGrade.C, SchizasGrade.D) for d in draws) for i, lv in enumerate(DISC_LEVELS)
    }
    assert max(severe, key=lambda k: severe[k]) == "L4-L5"
    assert severe["L3-L4"] > severe["L2-L3"] > severe["L1-L2"]
    assert sample_level_grades(7) == sample_level_grades(7)


def test_sampled_grades_are_the_ones_written(tmp_path: Path) -> None:
    gt = write_study(tmp_path, 23, max_matrix=40)
    assert tuple(lv.grade for lv in gt.levels) == sample_level_grades(23)


def test_reference_report_states_every_level_consistently(
    angled_study: GroundTruth, continuous_study: GroundTruth
) -> None:
    for gt in (angled_study, continuous_study):
        lines = gt.reference_report.splitlines()
        findings = lines[lines.index("Findings:") + 1 : lines.index("Impression:")]
        for lv in gt.levels:
            names = {format_level(lv.level, style) for style in range(3)}
            own = [
                ln
                for ln in findings
                if any(re.search(rf"\b{re.escape(n)}\b", ln) for n in names) and "Schizas" in ln
            ]
            assert len(own) == 1, (lv.level, own)
            line = own[0].lower()
            assert (
                f"schizas {lv.grade.value.lower()}" in line
                or f"schizas grade {lv.grade.value.lower()}" in line
            )
            assert str(round(lv.dural_sac_area_mm2)) in line
            assert any(w in line for w in SEVERITY_WORDS[lv.grade]), line
        impression = "\n".join(lines[lines.index("Impression:") + 1 :])
        stenotic = sorted(
            (lv for lv in gt.levels if lv.grade is not SchizasGrade.A),
            key=lambda lv: (-GRADE_ORDER.index(lv.grade), lv.dural_sac_area_mm2),
        )
        positions = [
            min(impression.find(n) for n in {format_level(lv.level, s) for s in range(3)} if n in impression)
            for lv in stenotic
        ]
        assert positions == sorted(positions)  # most severe first
        assert "Technique" in gt.reference_report or "Sequences" in gt.reference_report


def _run_cli(argv: list[str]) -> int:
    from engine.cli import demo_study
    from engine.cli.main import CommandError

    parser = argparse.ArgumentParser(prog="lss")
    demo_study.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CommandError as exc:
        return int(exc.exit_code)


def test_cli_writes_study_preview_and_reports_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    code = _run_cli(
        ["demo-study", str(out), "--seed", "3", "--grades", "D,C,B,A,A", "--preview", "--max-matrix", "64"]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "L1-L2: Schizas D" in text and re.search(r"images in \d+\.\d+ s", text)
    assert (out / "preview.png").stat().st_size > 10_000
    assert (out / "ground_truth" / "reference_report.txt").is_file()
    assert _run_cli(["demo-study", str(out), "--seed", "3"]) == 7  # existing study kept
    assert _run_cli(["demo-study", str(tmp_path / "x"), "--grades", "A,B"]) == 2
    assert _run_cli(["demo-study", str(tmp_path / "x"), "--grades", "A,B,E,A,A"]) == 2
    assert "E" in capsys.readouterr().err or True

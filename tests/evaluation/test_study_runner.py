"""Study-level evaluation: hand-built findings files (as `lss analyze` writes them) against synthetic
ground truth, through the API and `lss evaluate findings`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli.main import main as lss
from engine.evaluation.study_runner import evaluate_findings
from engine.findings import (
    Condition,
    DiscLevel,
    LevelFinding,
    Provenance,
    SchizasGrade,
    SliceMask,
    StudyFindings,
)
from engine.findings_io import save_findings
from engine.synthetic_study import read_ground_truth

PROVENANCE = Provenance("hand-built", "0.0.1", "0" * 64, "0.1.0")


def _findings(truth, predicted: str, areas_off_by: float, shift_px: int) -> StudyFindings:
    """Findings with the given grades (L1-L2 first), areas off by a constant, and the true dural sac
    masks of each level's slice nearest the disc, shifted by shift_px columns."""
    axial = truth.find_series("axial", "T2")
    labels = truth.load_mask(axial)
    levels, findings, masks = [], [], []
    for level, grade in zip(truth.levels, predicted, strict=True):
        probabilities = tuple((g, 0.85 if g.value == grade else 0.05) for g in SchizasGrade)
        levels.append(
            DiscLevel(level.level, level.disc_centre_lps, level.disc_normal_lps, 0.9, "sag", "sag-sop")
        )
        findings.append(
            LevelFinding(
                level.level,
                Condition.CENTRAL_CANAL_STENOSIS,
                SchizasGrade(grade),
                probabilities,
                level.dural_sac_area_mm2 + areas_off_by,
                None,
                0.85,
                axial.series_instance_uid,
                None,
                None,
                (),
                PROVENANCE,
            )
        )
        slices = [(i, s) for i, s in enumerate(axial.slice_levels) if s.level == level.level]
        index, chosen = min(slices, key=lambda t: abs(t[1].distance_to_disc_mm))
        sac = np.roll(truth.structure_mask(labels[index], "dural sac"), shift_px, axis=1)
        masks.append(
            SliceMask("dural sac", axial.series_instance_uid, chosen.sop_instance_uid, None, sac, PROVENANCE)
        )
    return StudyFindings(
        truth.study_instance_uid, tuple(levels), tuple(findings), tuple(masks), provenance=PROVENANCE
    )


@pytest.fixture(scope="module")
def findings_dirs(synthetic_root, tmp_path_factory):
    truth = read_ground_truth(synthetic_root / "study-7")
    good, poor = tmp_path_factory.mktemp("good"), tmp_path_factory.mktemp("poor")
    save_findings(_findings(truth, "ABCDA", 5.0, 0), good / "study-7.json")
    save_findings(_findings(truth, "AABBA", -20.0, 3), poor / "study-7.json")
    return good, poor


def test_findings_are_scored_against_the_ground_truth(findings_dirs, synthetic_root):
    good, poor = findings_dirs
    perfect = evaluate_findings(sorted(good.glob("*.json")), [synthetic_root], "good").results
    assert perfect.classification().accuracy == 1.0
    assert {c.dice for c in perfect.segmentation} == {1.0}
    assert sorted(c.grade for c in perfect.segmentation) == ["A", "A", "B", "C", "D"]
    assert {round(c.predicted_mm2 - c.reference_mm2, 6) for c in perfect.areas} == {5.0}
    worse = evaluate_findings(sorted(poor.glob("*.json")), [synthetic_root], "poor")
    assert worse.results.classification().accuracy == pytest.approx(0.4)
    assert max(c.dice for c in worse.results.segmentation) < 1.0
    (study,) = worse.reference_reports
    assert "Schizas" in worse.reference_reports[study]
    assert "L4-L5" in worse.candidate_reports[study]  # drafted from the findings (engine.reporting)


def test_unmatched_study_is_listed_as_missing(findings_dirs, tmp_path):
    good, _ = findings_dirs
    evaluation = evaluate_findings(sorted(good.glob("*.json")), [tmp_path], "good")
    assert evaluation.results.grading == () and "no ground truth" in evaluation.results.missing[0]


def test_cli_writes_metrics_plots_and_mcnemar(findings_dirs, synthetic_root, tmp_path, capsys):
    good, poor = findings_dirs
    out = tmp_path / "eval"
    code = lss(
        [
            "evaluate",
            "findings",
            "--findings",
            str(good),
            "--findings",
            str(poor),
            "--truth",
            str(synthetic_root),
            "--out",
            str(out),
            "--no-text-metrics",
        ]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    good_name, poor_name = good.name, poor.name
    assert metrics["models"][good_name]["classification"]["accuracy"] == 1.0
    assert metrics["models"][poor_name]["classification"]["confusion_matrix"][2] == [0, 1, 0, 0]
    test = metrics["mcnemar"][f"{good_name} vs {poor_name}"]
    assert (test["b"], test["c"], test["method"]) == (3, 0, "exact binomial") and test["p_value"] == 0.25
    assert {f"confusion_{good_name}.png", f"roc_{poor_name}.png"} <= set(metrics["plots"])
    assert all((out / name).is_file() for name in metrics["plots"])
    assert "McNemar" in capsys.readouterr().out
    assert (
        lss(
            [
                "evaluate",
                "findings",
                "--findings",
                str(tmp_path / "none"),
                "--truth",
                str(synthetic_root),
                "--out",
                str(out),
            ]
        )
        == 7
    )


def test_report_text_metrics_against_the_reference_report(findings_dirs, synthetic_root, tmp_path):
    import shutil

    good, _ = findings_dirs
    out = tmp_path / "text"
    assert (
        lss(
            [
                "evaluate",
                "findings",
                "--findings",
                str(good),
                "--truth",
                str(synthetic_root),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = json.loads((out / "metrics.json").read_text())["text_metrics"][good.name]
    if shutil.which("java") is None:
        assert "Java" in text["skipped"]
    else:
        assert text["n_reports"] == 1 and 0.0 < text["bleu_1"] <= 1.0 and text["cider"] >= 0.0

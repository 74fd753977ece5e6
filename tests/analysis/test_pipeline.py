"""The whole analysis with the ground-truth oracle as the model: measurements, grades, provenance,
progress, cancellation, missing series, grade/area disagreement, relabelling, the findings file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.analysis import (
    STAGES,
    AnalysisCancelled,
    MissingSeriesError,
    analyze_study,
    relabel_study,
    run_analysis,
)
from engine.findings import DISC_LEVELS, SchizasGrade, Structure
from engine.findings_io import load_findings, save_findings
from engine.study.model import Orientation
from training.benchmarks.ground_truth_segmenter import ORACLE_SHA256, TRUE_GRADE_PROBABILITY


@pytest.mark.parametrize("fixture", ["loaded_continuous", "loaded_angled"])
def test_findings_match_the_ground_truth(fixture, request, oracle):
    study, truth = request.getfixturevalue(fixture)
    findings = analyze_study(study, model=oracle(truth))
    assert [f.level for f in findings.findings] == list(DISC_LEVELS)
    for finding in findings.findings:
        expected = truth.level(finding.level)
        assert finding.grade is expected.grade
        assert dict(finding.grade_probabilities)[expected.grade] == pytest.approx(TRUE_GRADE_PROBABILITY)
        # 1.4-1.9 mm pixels at this test matrix: the area of a ~100 mm² sac is good to ~15 %.
        assert finding.dural_sac_area_mm2 == pytest.approx(expected.dural_sac_area_mm2, rel=0.15)
        assert finding.ap_diameter_mm == pytest.approx(expected.ap_diameter_mm, abs=2.5)
        assert finding.provenance.model_sha256 == ORACLE_SHA256
        parameters = dict(finding.provenance.parameters)
        assert parameters["prompt"] == f"dural sac at {finding.level}"
        assert float(parameters["obliquity_deg"]) < 35.0
        assert "mask_threshold" in parameters
        assert finding.axial_series_uid == truth.find_series("axial", "T2").series_instance_uid
    sagittal = [
        m
        for m in findings.masks
        if m.series_instance_uid == truth.find_series("sagittal", "T2").series_instance_uid
    ]
    assert sorted(m.structure for m in sagittal) == ["intervertebral disc", "spinal canal", "vertebra"]
    sacs = [m for m in findings.masks if m.structure == Structure.DURAL_SAC.value]
    assert {m.sop_instance_uid for m in sacs} == {f.key_slice_sop_instance_uid for f in findings.findings}
    assert len(findings.explanations) == 5
    assert all(
        e.mask.dtype == np.float32 and 0.0 <= e.mask.min() <= e.mask.max() <= 1.0
        for e in findings.explanations
    )
    assert findings.load_report is study.load_report


def test_obliquity_is_corrected_with_the_canal_direction(loaded_continuous, oracle):
    """At L5-S1 a continuous stack cuts the canal at ~30 degrees: the in-plane area is larger."""
    study, truth = loaded_continuous
    finding = analyze_study(study, model=oracle(truth)).finding_for("L5-S1")
    assert finding is not None
    parameters = dict(finding.provenance.parameters)
    assert float(parameters["obliquity_deg"]) > 10.0
    assert parameters["canal_source"] == "sagittal canal"


def test_findings_file_round_trip(loaded_angled, oracle, tmp_path):
    study, truth = loaded_angled
    findings = analyze_study(study, model=oracle(truth))
    path = save_findings(findings, tmp_path / "findings.json")
    loaded = load_findings(path)
    assert loaded.levels == findings.levels and loaded.other_discs == findings.other_discs
    assert loaded.findings == findings.findings
    assert loaded.load_report == findings.load_report
    assert [m.mask.tolist() for m in loaded.masks] == [m.mask.tolist() for m in findings.masks]


def test_progress_goes_through_the_stages_in_order(loaded_continuous, oracle):
    study, truth = loaded_continuous
    events = []
    result = run_analysis(study, oracle(truth), progress=events.append)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] < 1.0
    assert list(dict.fromkeys(e.stage for e in events)) == list(STAGES)
    assert [t.stage for t in result.timings] == list(STAGES)
    assert all(t.seconds >= 0 for t in result.timings)


def test_cancel_stops_the_analysis(loaded_continuous, oracle):
    study, truth = loaded_continuous
    events = []
    with pytest.raises(AnalysisCancelled):
        run_analysis(study, oracle(truth), progress=events.append, cancel=lambda: len(events) >= 2)
    assert len(events) == 2


def test_missing_axial_series_is_named(loaded_continuous, oracle):
    study, truth = loaded_continuous
    sagittal_only = dataclasses.replace(
        study, series=tuple(s for s in study.series if s.orientation is Orientation.SAGITTAL)
    )
    with pytest.raises(MissingSeriesError, match="no axial T2"):
        analyze_study(sagittal_only, model=oracle(truth))
    axial_only = dataclasses.replace(
        study, series=tuple(s for s in study.series if s.orientation is Orientation.AXIAL)
    )
    with pytest.raises(MissingSeriesError, match="no sagittal T2"):
        analyze_study(axial_only, model=oracle(truth))


class _WrongGradeOracle:
    """The oracle, but its grade head says D everywhere."""

    def __init__(self, inner):
        self.inner = inner

    def segment(self, image, prompts, centre_rc=None):
        results = self.inner.segment(image, prompts, centre_rc)
        return [
            dataclasses.replace(r, grade_probabilities=(("A", 0.05), ("B", 0.05), ("C", 0.1), ("D", 0.8)))
            for r in results
        ]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_grade_and_area_disagreement_lowers_confidence_and_is_reported(loaded_continuous, oracle):
    study, truth = loaded_continuous
    findings = analyze_study(study, model=_WrongGradeOracle(oracle(truth)))
    for finding in findings.findings:
        assert finding.grade is SchizasGrade.D
        if finding.dural_sac_area_mm2 >= 75.0:  # no absolute stenosis by area: grade D contradicts it
            assert finding.confidence == pytest.approx(0.8 * 0.6)
            assert any("disagree" in w for w in finding.warnings)
        else:
            assert finding.confidence == pytest.approx(0.8)
            assert finding.warnings == ()
    assert any(f.dural_sac_area_mm2 >= 75.0 for f in findings.findings)


def test_relabel_study_re_analyses_the_levels_whose_prompt_changed(loaded_continuous, oracle):
    study, truth = loaded_continuous
    segmenter = oracle(truth)
    findings = analyze_study(study, model=segmenter)
    shift = {"L3-L4": "L4-L5", "L4-L5": "L5-S1", "L5-S1": "L6-S1"}
    calls = segmenter.calls
    relabelled = relabel_study(study, findings, shift, model=segmenter)
    assert segmenter.calls - calls == 2  # L4-L5 and L5-S1 now have other prompts; L6-S1 is no lumbar level
    before = {f.level: f for f in findings.findings}
    after = {f.level: f for f in relabelled.findings}
    assert [f.level for f in relabelled.findings] == ["L1-L2", "L2-L3", "L4-L5", "L5-S1", "L6-S1"]
    assert dict(after["L5-S1"].provenance.parameters)["prompt"] == "dural sac at L5-S1"
    assert after["L5-S1"].key_slice_sop_instance_uid == before["L4-L5"].key_slice_sop_instance_uid
    assert after["L6-S1"] == dataclasses.replace(before["L5-S1"], level="L6-S1")
    sacs = [m for m in relabelled.masks if m.structure == Structure.DURAL_SAC.value]
    assert len(sacs) == len(relabelled.findings)
    assert {d.label for d in relabelled.levels if d.label_overridden} == {"L4-L5", "L5-S1", "L6-S1"}

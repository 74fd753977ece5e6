"""Drafting a report from hand-built findings: phrasing, numbers, order, evidence, provenance."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from engine.findings import SchizasGrade
from engine.reporting.drafting import draft_report, findings_sentence_id
from engine.reporting.measurement_text import format_ap_diameter, format_confidence, format_dural_sac_area
from engine.reporting.model import (
    DraftFormatError,
    Section,
    SentenceProvenance,
    draft_from_dict,
    draft_to_dict,
)
from engine.reporting.template import LevelStyle


def test_draft_has_technique_one_sentence_per_level_impression_and_attribution(case):
    draft = draft_report(case.findings, case.study)
    assert [s.text for s in draft.technique] == [
        "MRI of the lumbar spine: sagittal T1, sagittal T2 and axial T2."
    ]
    assert [s.level for s in draft.findings] == ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    assert draft.findings[0].text == (
        "No significant canal stenosis at L1-L2 (Schizas grade A; dural sac area 168 mm², AP diameter 14.2 mm)."
    )
    assert draft.findings[3].text == (
        "Marked thecal sac compression noted at L4-L5 level, with severe central canal stenosis "
        "(Schizas grade C; dural sac area 61 mm², AP diameter 7.8 mm)."
    )
    assert "drafted by LSS Desktop" in draft.attribution
    assert "lss-vlm-spca 0.3.0" in draft.attribution
    assert "reviewed by the signing radiologist" in draft.attribution


def test_impression_lists_the_most_severe_level_first(case):
    draft = draft_report(case.findings, case.study)
    assert [s.level for s in draft.impression] == ["L4-L5", "L3-L4", "L5-S1"]
    assert (
        draft.impression[0].text
        == "Severe central canal stenosis at L4-L5 (Schizas grade C, dural sac area 61 mm²)."
    )
    # Grade A with a normal canal is left out; grade A with a small canal is named last.
    assert draft.impression[2].text.startswith("Relatively narrow canal at L5-S1")


def test_equal_grades_are_ordered_by_smaller_dural_sac_area(builder):
    case = builder.build_case(
        grades={"L3-L4": "B", "L4-L5": "B", "L5-S1": "D"},
        areas={"L3-L4": 88.0, "L4-L5": 79.0, "L5-S1": 44.0},
    )
    draft = draft_report(case.findings, case.study)
    assert [s.level for s in draft.impression] == ["L5-S1", "L4-L5", "L3-L4"]
    assert draft.impression[0].text.startswith("Extreme central canal stenosis at L5-S1")


def test_no_stenosis_gives_one_impression_line(builder):
    case = builder.build_case(
        grades=dict.fromkeys(("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"), "A"),
        areas=dict.fromkeys(("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"), 140.0),
        ap=dict.fromkeys(("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"), 14.0),
    )
    draft = draft_report(case.findings, case.study)
    assert [s.text for s in draft.impression] == [
        "No significant central canal stenosis at the assessed lumbar levels."
    ]
    assert draft.impression[0].level is None


def test_numbers_are_rounded_half_up_consistently():
    assert format_dural_sac_area(82.5) == "83"
    assert format_dural_sac_area(82.49) == "82"
    assert format_dural_sac_area(99.96) == "100"
    assert format_ap_diameter(9.15) == "9.2"
    assert format_ap_diameter(9.149) == "9.1"
    assert format_ap_diameter(10.0) == "10.0"
    assert format_confidence(0.874) == "87 %"


def test_each_level_sentence_carries_its_evidence_and_provenance(builder, case):
    draft = draft_report(case.findings, case.study)
    s = draft.sentence(findings_sentence_id("L4-L5"))
    finding = case.findings.finding_for("L4-L5")
    assert s.section is Section.FINDINGS and s.level == "L4-L5"
    assert s.provenance is SentenceProvenance.AI_DRAFTED and s.needs_review
    assert s.model_provenance == finding.provenance
    e = s.evidence
    assert e.grade is SchizasGrade.C
    assert e.dural_sac_area_mm2 == finding.dural_sac_area_mm2 and e.ap_diameter_mm == finding.ap_diameter_mm
    assert e.key_slice_series_uid == builder.AXIAL_UID
    assert e.key_slice_sop_instance_uid == finding.key_slice_sop_instance_uid
    assert e.mask is not None and e.mask.structure == "dural sac" and len(e.mask.sha256) == 64
    assert e.mask.sop_instance_uid == finding.key_slice_sop_instance_uid
    assert e.disc_sagittal_sop_instance_uid is not None
    assert draft.sentence("impression/L4-L5/central_canal_stenosis").evidence == e


def test_level_without_axial_images_is_said_not_assessed(builder):
    case = builder.build_case(axial_levels=("L3-L4", "L4-L5", "L5-S1"))
    draft = draft_report(case.findings, case.study)
    assert draft.findings[0].text == "L1-L2 level not assessed: no axial image at this level."
    assert draft.findings[0].evidence.grade is None
    assert "L1-L2" not in {s.level for s in draft.impression}


def test_missing_measurements_are_said_not_measured(builder, case):
    findings = builder.with_finding(case.findings, "L3-L4", dural_sac_area_mm2=None)
    draft = draft_report(findings, case.study)
    assert draft.sentence(findings_sentence_id("L3-L4")).text == (
        "Thecal sac compression noted at L3-L4 level, with moderate central canal stenosis "
        "(Schizas grade B; dural sac area not measured, AP diameter 10.7 mm)."
    )


def test_site_template_changes_phrasing_without_code(tmp_path, case, template):
    from engine.reporting.template import DEFAULT_TEMPLATE_PATH, load_report_template

    site = DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8")
    site = site.replace('level_style = "hyphen"', 'level_style = "slash"').replace(
        'default = "Thecal sac compression noted at {level} level, with moderate',
        'default = "Diffuse disc bulge noted at {level} level, mildly compressing the thecal sac, with moderate',
    )
    path = tmp_path / "site.toml"
    path.write_text(site, encoding="utf-8")
    draft = draft_report(case.findings, case.study, load_report_template(path))
    assert draft.sentence(findings_sentence_id("L3-L4")).text.startswith(
        "Diffuse disc bulge noted at L3/L4 level, mildly compressing the thecal sac, with moderate central canal stenosis"
    )
    assert draft.findings[4].text.startswith("No significant thecal sac compression at L5/S1 level")


def test_site_template_from_environment(tmp_path, case, monkeypatch):
    from engine.reporting.template import DEFAULT_TEMPLATE_PATH, load_report_template

    site = DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8").replace(
        'name = "default"', 'name = "st-elsewhere"'
    )
    path = tmp_path / "site.toml"
    path.write_text(site.replace('level_style = "hyphen"', 'level_style = "short"'), encoding="utf-8")
    monkeypatch.setenv("LSS_REPORT_TEMPLATE", str(path))
    t = load_report_template()
    assert t.name == "st-elsewhere" and t.level_style is LevelStyle.SHORT
    assert t.level_text("L4-L5") == "L4-5" and t.level_text("L5-S1") == "L5-S1"
    assert draft_report(case.findings, case.study).template_name == "st-elsewhere v1"


def test_draft_from_findings_alone_has_a_generic_technique(case):
    draft = draft_report(case.findings, None)
    assert draft.technique[0].text == "MRI of the lumbar spine."


def test_findings_of_another_study_are_refused(case):
    other = replace(case.findings, study_instance_uid="1.2.3")
    with pytest.raises(ValueError, match=r"findings are for study 1\.2\.3"):
        draft_report(other, case.study)


def test_draft_survives_a_json_round_trip(case):
    draft = draft_report(case.findings, case.study)
    text = json.dumps(draft_to_dict(draft), ensure_ascii=False, sort_keys=True)
    assert draft_from_dict(json.loads(text)) == draft


def test_unreadable_draft_document_names_the_field(case):
    doc = draft_to_dict(draft_report(case.findings, case.study))
    del doc["attribution"]
    with pytest.raises(DraftFormatError, match="attribution"):
        draft_from_dict(doc)
    with pytest.raises(DraftFormatError, match="schema_version"):
        draft_from_dict({**doc, "schema_version": "99"})


def test_confidence_is_kept_in_the_evidence_not_in_the_text(case):
    draft = draft_report(case.findings, case.study)
    s = draft.sentence(findings_sentence_id("L5-S1"))
    assert s.evidence.confidence == pytest.approx(0.58)
    assert "%" not in s.text

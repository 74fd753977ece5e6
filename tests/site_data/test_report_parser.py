"""The free-text report parser: level spellings, severity words, statements without a level,
the Schizas mapping rule, and its coverage on the real radiologist notes."""

from __future__ import annotations

import pytest

from engine.findings import SchizasGrade
from engine.site_data.report_coverage import read_reports_csv, summarise_report_parsing
from engine.site_data.report_parser import find_level_mentions, parse_report, split_statements
from engine.site_data.severity import Severity, expected_dural_sac_area, grade_for_severity

from .conftest import shared_data_dir


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("L4/L5", "L4-L5"),
        ("L4-5", "L4-L5"),
        ("L4-L5", "L4-L5"),
        ("l4 - l5", "L4-L5"),
        ("L5/S 1", "L5-S1"),
        ("L4_L5", "L4-L5"),
        ("L5S1", "L5-S1"),
        ("L5-S1levels", "L5-S1"),
        ("T12 - L1", "T12-L1"),
    ],
)
def test_level_spellings(text, level):
    mentions, unparsed = find_level_mentions(f"disc bulge at {text} level")
    assert [m.level for m in mentions] == [level] and unparsed == []


def test_ranges_expand_and_vertebrae_are_not_levels():
    mentions, _ = find_level_mentions("multilevel bulges L3-S1; hemangioma at L2&L3; L5 vertebra")
    assert [m.level for m in mentions] == ["L3-L4", "L4-L5", "L5-S1"]
    mentions, unparsed = find_level_mentions("typo L23-L3")
    assert mentions == [] and unparsed == ["L23-L3"]


def _levels(text: str) -> dict[str, tuple[str | None, str | None, str]]:
    return {
        p.level: (p.severity.value if p.severity else None, p.grade.value if p.grade else None, p.source)
        for p in parse_report(text).levels
    }


def test_degree_words_map_to_severities_and_grades():
    text = (
        "Diffuse disc bulge noted ar L4/L5 level ,mildly compressing the thecal sac and both exit nerve roots\n"
        "Central disc protrusion at L5/S1 level, largely compressing the thecal sac.\n"
        "L3-4: annular disc bulge compressing thecal sac, narrowing right neural foramen."
    )
    assert _levels(text) == {
        "L3-L4": ("unqualified", None, "level statement"),
        "L4-L5": ("mild", "A", "level statement"),
        "L5-S1": ("severe", "C", "level statement"),
    }


def test_a_study_statement_without_level_covers_the_other_levels():
    text = "small central disc protrusion at L5-S1 level abutting the thecal sac.\nno significant thecal sac compression noted."
    levels = _levels(text)
    assert levels["L5-S1"] == ("none", "A", "level statement")
    assert levels["L1-L2"] == ("none", "A", "study statement")
    assert parse_report(text).study_severity is Severity.NONE


def test_foraminal_findings_are_not_canal_severity():
    levels = _levels(
        "L4-L5: Lt posterolateral disc protrusion compressing Lt exit canal with Lt L5 nerve root."
    )
    assert levels == {"L4-L5": (None, None, "level statement")}


def test_headings_continuations_and_typos():
    assert _levels("L4/L5 level :\ndiffuse disc bulge, mild compressing thecal sca")["L4-L5"][0] == "mild"
    assert (
        _levels("bulges at L4-L5 and L5-S1 levels\nCompressing the thecal sac")["L5-S1"][0] == "unqualified"
    )
    assert _levels("bulge at L3/L4 level, compressing \nthecal sac")["L3-L4"][0] == "unqualified"


def test_explicit_schizas_grade_and_area_win_and_extreme_is_d():
    report = parse_report(
        "At L3-4 level: protrusion, moderately compressing the dural sac (Schizas grade B, DSCA approx. 77 mm²).\n"
        "L4-L5: severe central canal stenosis with complete effacement of CSF and of the posterior epidural fat.\n"
        "No significant central canal stenosis from L1/L2 to L5/S1."
    )
    l34, l45, l51 = report.level("L3-L4"), report.level("L4-L5"), report.level("L5-S1")
    assert (l34.severity, l34.explicit_grade, l34.stated_area_mm2) == (
        Severity.MODERATE,
        SchizasGrade.B,
        77.0,
    )
    assert (l45.severity, l45.grade) == (Severity.SEVERE, SchizasGrade.D)
    assert l51.severity is Severity.NONE


def test_statements_split_at_lines_slashes_and_full_stops_not_decimals():
    parts = [t for t, _ in split_statements("L4-5: bulge. // L5-S1: DSCA approx. 7.5 mm2\nadequate canal")]
    assert parts == ["L4-5: bulge", "L5-S1: DSCA approx. 7.5 mm2", "adequate canal"]


def test_mapping_rule_and_area_ranges():
    assert [grade_for_severity(s) for s in Severity] == [
        SchizasGrade.A,
        SchizasGrade.A,
        SchizasGrade.B,
        SchizasGrade.C,
        None,
    ]
    assert grade_for_severity(Severity.SEVERE, extreme=True) is SchizasGrade.D
    assert expected_dural_sac_area(Severity.SEVERE).contains(60.0)
    assert not expected_dural_sac_area(Severity.NONE).contains(60.0)
    stated = expected_dural_sac_area(Severity.NONE, stated_area_mm2=100.0)
    assert stated.contains(70.0) and not stated.contains(140.0)


def test_coverage_summary_counts(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text(
        'patient_id,clinicians_notes\n1,"Mild disc bulge at L4-L5 level, mildly compressing the thecal sac."\n'
        '2,"No significant thecal sac compression."\n3,""\n',
        encoding="utf-8",
    )
    summary, _ = summarise_report_parsing(read_reports_csv(path, "patient_id", "clinicians_notes"))
    assert (summary.reports, summary.reports_with_disc_level, summary.named_with_severity) == (3, 1, 1)
    assert summary.severities == {"mild": 1} and summary.implied_levels == 5
    with pytest.raises(ValueError, match="no column 'text'"):
        read_reports_csv(path, "patient_id", "text")


def test_real_notes_coverage_measured():
    """The measurement of report_parser_validation.md: the parser finds levels and severities in the
    400 real notes (CC BY 4.0, Sudirman et al.)."""
    data = shared_data_dir()
    if data is None:
        pytest.skip("../shared/data is not beside this checkout")
    reports = read_reports_csv(data / "reports" / "radiologist_notes.csv", "patient_id", "clinicians_notes")
    summary, _ = summarise_report_parsing(reports)
    assert summary.reports == 400 and summary.reports_with_disc_level == 289
    assert summary.named_levels >= 455
    assert summary.named_with_severity / summary.named_levels > 0.8
    assert summary.unparsed_level_texts == {"L23-L3": 1}

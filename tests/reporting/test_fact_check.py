"""The fact check on hand-written good and bad rewrites of drafted sentences."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.reporting.drafting import draft_report, findings_sentence_id, impression_sentence_id
from engine.reporting.fact_check import extract_facts, fact_check_rewrite, fact_check_text


@pytest.fixture
def draft(case):
    return draft_report(case.findings, case.study)


GOOD_L34 = [
    "At L3-L4, the thecal sac is compressed, with moderate central canal stenosis "
    "(Schizas grade B; dural sac area 92 mm², AP diameter 10.7 mm).",
    "At the L3/L4 level the thecal sac is compressed, giving moderate central canal stenosis "
    "(grade B; dural sac area 92 mm2, AP diameter 10.7 mm).",
    "Moderate central canal stenosis with thecal sac compression noted at L3-4 "
    "(Schizas B; dural sac area 92.0 mm², AP diameter 10.70 mm).",
]


@pytest.mark.parametrize("rewrite", GOOD_L34)
def test_faithful_rewrites_pass(draft, rewrite):
    check = fact_check_rewrite(draft.sentence(findings_sentence_id("L3-L4")), rewrite)
    assert check.passed, check.problems


BAD_L34 = [
    (  # grade changed
        "At L3-L4, the thecal sac is compressed, with moderate central canal stenosis "
        "(Schizas grade C; dural sac area 92 mm², AP diameter 10.7 mm).",
        ["grade at L3-L4 changed from B to C", "grade at L3-L4: the findings say B, the text says ['C']"],
    ),
    (  # number changed
        "At L3-L4, the thecal sac is compressed, with moderate central canal stenosis "
        "(Schizas grade B; dural sac area 29 mm², AP diameter 10.7 mm).",
        ["number at L3-L4 changed from 92 mm² to 29 mm²"],
    ),
    (  # level changed
        "At L4-L5, the thecal sac is compressed, with moderate central canal stenosis "
        "(Schizas grade B; dural sac area 92 mm², AP diameter 10.7 mm).",
        ["level L3-L4 is missing", "level L4-L5 was added"],
    ),
    (  # number dropped
        "At L3-L4, the thecal sac is compressed, with moderate central canal stenosis (Schizas grade B; "
        "dural sac area 92 mm²).",
        ["number 10.7 mm at L3-L4 is missing"],
    ),
    (  # number added (an invented measurement)
        "At L3-L4, the thecal sac is compressed, with moderate central canal stenosis (Schizas grade B; "
        "dural sac area 92 mm², AP diameter 10.7 mm, lateral recess 3 mm).",
        ["number 3 mm at L3-L4 was added"],
    ),
    (  # severity word changed
        "At L3-L4, the thecal sac is compressed, with severe central canal stenosis "
        "(Schizas grade B; dural sac area 92 mm², AP diameter 10.7 mm).",
        ["severity 'moderate' at L3-L4 is missing", "severity 'severe' at L3-L4 was added"],
    ),
    (  # unit changed
        "At L3-L4, the thecal sac is compressed, with moderate central canal stenosis "
        "(Schizas grade B; dural sac area 92 mm, AP diameter 10.7 mm).",
        ["number 92 mm² at L3-L4 is missing", "number 92 mm at L3-L4 was added"],
    ),
    (  # extra level
        "At L3-L4 and L4-L5, the thecal sac is compressed, with moderate central canal stenosis "
        "(Schizas grade B; dural sac area 92 mm², AP diameter 10.7 mm).",
        ["level L4-L5 was added"],
    ),
]


@pytest.mark.parametrize(("rewrite", "expected"), BAD_L34)
def test_unfaithful_rewrites_fail_and_say_why(draft, rewrite, expected):
    check = fact_check_rewrite(draft.sentence(findings_sentence_id("L3-L4")), rewrite)
    assert not check.passed
    for line in expected:
        assert line in check.problems, check.problems


def test_negation_dropped_is_caught(draft):
    source = draft.sentence(findings_sentence_id("L1-L2"))
    good = "No significant stenosis of the canal at L1-L2 (Schizas grade A; dural sac area 168 mm², AP diameter 14.2 mm)."
    bad = (
        "Significant canal stenosis at L1-L2 (Schizas grade A; dural sac area 168 mm², AP diameter 14.2 mm)."
    )
    assert fact_check_rewrite(source, good).passed
    assert "severity 'none' at L1-L2 is missing" in fact_check_rewrite(source, bad).problems


def test_garbage_and_empty_rewrites_fail(draft):
    source = draft.sentence("technique")
    assert fact_check_rewrite(source, "").problems == ("the rewrite is empty", "'T1' is missing", "'T2' is missing",
                                                      "'axial' is missing", "'sagittal' is missing")  # fmt: skip
    garbage = fact_check_rewrite(source, "::\ufffd\ufffd\ufffd 12 13")
    assert "the rewrite contains unreadable characters" in garbage.problems
    assert "the rewrite is mostly not words" in garbage.problems
    assert fact_check_rewrite(source, "Lumbar spine MRI: sagittal T1 and T2, axial T2 images.").passed
    assert (
        "'T1' is missing"
        in fact_check_rewrite(source, "Lumbar spine MRI: sagittal and axial T2 images.").problems
    )


def test_grade_before_the_level_attaches_to_the_following_level(draft):
    source = draft.sentence(impression_sentence_id("L4-L5"))
    assert fact_check_rewrite(
        source, "Severe (Schizas grade C) central canal stenosis at L4-L5, dural sac area 61 mm²."
    ).passed


def test_level_forms_and_numbers_are_normalised():
    facts = extract_facts(
        "Bulge at L4/5 and L5/S1; T12-L1 normal. Area 82.0 mm2 at L4-L5; AP 9.10 mm. 7 cm cyst."
    )
    assert facts.levels == {"L4-L5", "L5-S1", "T12-L1"}
    assert ("L4-L5", Decimal("82"), "mm²") in facts.numbers
    assert ("L4-L5", Decimal("9.1"), "mm") in facts.numbers
    assert ("L4-L5", Decimal("7"), "cm") in facts.numbers
    assert all(v not in (Decimal(4), Decimal(5), Decimal(12), Decimal(1)) for _, v, _ in facts.numbers)


def test_whole_report_rewrite_is_checked_against_the_template_text(draft):
    source = draft.as_text()
    assert fact_check_text(source, source).passed
    dropped_level = source.replace(draft.findings[4].text, "")
    problems = fact_check_text(source, dropped_level).problems
    assert "number 12.6 mm at L5-S1 is missing" not in problems  # the impression still states it
    assert "'relative'" not in " ".join(problems)
    shuffled = source.replace("Schizas grade C", "Schizas grade D")
    assert "grade at L4-L5 changed from C to D" in fact_check_text(source, shuffled).problems

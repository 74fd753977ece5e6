"""A person's edits, and re-drafting after a mask or level-label edit."""

from __future__ import annotations

import pytest

from engine.findings import SchizasGrade
from engine.reporting.drafting import draft_report, findings_sentence_id, impression_sentence_id
from engine.reporting.model import Section, SentenceProvenance
from engine.reporting.revision import (
    accept_sentence,
    accept_suggestion,
    add_sentence,
    edit_sentence,
    redraft_after_findings_change,
    remove_sentence,
)

L34 = findings_sentence_id("L3-L4")
L45 = findings_sentence_id("L4-L5")
L51 = findings_sentence_id("L5-S1")


@pytest.fixture
def draft(case):
    return draft_report(case.findings, case.study)


def test_accept_marks_the_person_and_clears_review(draft):
    new = accept_sentence(draft, L45, "Dr. A. Radiologist")
    s = new.sentence(L45)
    assert s.provenance is SentenceProvenance.ACCEPTED_BY_PERSON and s.person == "Dr. A. Radiologist"
    assert s.text == draft.sentence(L45).text and not s.needs_review
    assert len(new.needs_review) == len(draft.needs_review) - 1


def test_edit_keeps_level_and_evidence(draft):
    new = edit_sentence(
        draft, L45, "Diffuse disc bulge noted at L4/L5 level, largely compressing the thecal sac.", "Dr A"
    )
    s = new.sentence(L45)
    assert s.provenance is SentenceProvenance.EDITED_BY_PERSON and s.person == "Dr A"
    assert s.level == "L4-L5" and s.evidence == draft.sentence(L45).evidence


def test_changes_need_a_person_and_text(draft):
    with pytest.raises(ValueError, match="person"):
        accept_sentence(draft, L45, "  ")
    with pytest.raises(ValueError, match="empty"):
        edit_sentence(draft, L45, "   ", "Dr A")
    with pytest.raises(KeyError, match="findings/L9-S9"):
        accept_sentence(draft, "findings/L9-S9/central_canal_stenosis", "Dr A")


def test_add_sentence_is_written_by_person_and_placed(draft):
    new, s = add_sentence(
        draft,
        Section.FINDINGS,
        "Modic type I endplate changes at L4/L5.",
        "Dr A",
        level="L4-L5",
        after_sentence_id=L45,
    )
    ids = [x.sentence_id for x in new.findings]
    assert ids.index(s.sentence_id) == ids.index(L45) + 1
    assert s.provenance is SentenceProvenance.WRITTEN_BY_PERSON and s.sentence_id == "person/1"
    assert s.evidence == draft.sentence(L45).evidence
    new2, s2 = add_sentence(new, Section.IMPRESSION, "Correlate clinically.", "Dr A")
    assert s2.sentence_id == "person/2" and new2.impression[-1] == s2 and s2.level is None


def test_mask_edit_rederives_only_the_affected_ai_sentences(builder, case, draft):
    edited = builder.with_edited_mask(case.findings, "L3-L4", shrink_px=3)
    new = redraft_after_findings_change(draft, edited)
    for sid in [s.sentence_id for s in draft.sentences]:
        if "L3-L4" in sid:
            continue
        assert new.sentence(sid) is draft.sentence(sid), sid  # untouched, same object
    s = new.sentence(L34)
    assert s.provenance is SentenceProvenance.AI_DRAFTED
    assert (
        s.evidence.mask.edited_by_person
        and s.evidence.mask.sha256 != draft.sentence(L34).evidence.mask.sha256
    )
    new_area = edited.finding_for("L3-L4").dural_sac_area_mm2
    assert new_area < 80
    assert f"dural sac area {round(new_area)} mm²" in s.text
    assert new.sentence(impression_sentence_id("L3-L4")).evidence == s.evidence


def test_person_edited_sentence_is_never_overwritten_but_flagged_with_a_suggestion(builder, case, draft):
    words = "Diffuse disc bulge noted at L3/L4 level, compressing the thecal sac and both exit canals."
    draft = edit_sentence(draft, L34, words, "Dr A")
    edited = builder.with_finding(
        builder.with_edited_mask(case.findings, "L3-L4"), "L3-L4", grade=SchizasGrade.C
    )
    new = redraft_after_findings_change(draft, edited)
    s = new.sentence(L34)
    assert s.text == words and s.provenance is SentenceProvenance.EDITED_BY_PERSON and s.person == "Dr A"
    assert s.needs_review and s.stale_reason.startswith("possibly stale: ")
    assert "grade B → C" in s.stale_reason and "mask was edited by a person" in s.stale_reason
    assert s.suggestion is not None and s.suggestion.provenance is SentenceProvenance.AI_DRAFTED
    assert "severe central canal stenosis (Schizas grade C" in s.suggestion.text
    assert s.evidence == draft.sentence(L34).evidence  # the words still point at what they were written from

    kept = accept_sentence(new, L34, "Dr A")  # the person keeps their words for the new evidence
    assert kept.sentence(L34).text == words and kept.sentence(L34).stale_reason is None
    assert kept.sentence(L34).evidence == s.suggestion.evidence
    taken = accept_suggestion(new, L34, "Dr A")  # or takes the software's new sentence
    assert taken.sentence(L34).text == s.suggestion.text
    assert taken.sentence(L34).provenance is SentenceProvenance.ACCEPTED_BY_PERSON


def test_reverting_the_findings_clears_the_stale_flag(builder, case, draft):
    draft = edit_sentence(draft, L34, "Disc bulge at L3/L4 compressing the thecal sac.", "Dr A")
    changed = redraft_after_findings_change(
        draft, builder.with_finding(case.findings, "L3-L4", grade=SchizasGrade.C)
    )
    assert changed.sentence(L34).stale_reason is not None
    back = redraft_after_findings_change(changed, case.findings)
    assert back.sentence(L34).stale_reason is None and back.sentence(L34).suggestion is None


def test_accepted_sentence_is_rederived_and_needs_review_again(builder, case, draft):
    draft = accept_sentence(draft, L34, "Dr A")
    new = redraft_after_findings_change(
        draft, builder.with_finding(case.findings, "L3-L4", grade=SchizasGrade.C)
    )
    s = new.sentence(L34)
    assert s.provenance is SentenceProvenance.AI_DRAFTED and s.needs_review
    assert "Schizas grade C" in s.text


def test_person_written_sentence_with_a_level_is_flagged_when_its_evidence_changes(builder, case, draft):
    draft, mine = add_sentence(
        draft, Section.FINDINGS, "Ligamentum flavum hypertrophy at L3/L4.", "Dr A", level="L3-L4"
    )
    draft, general = add_sentence(draft, Section.FINDINGS, "Features of muscle spasm.", "Dr A")
    new = redraft_after_findings_change(draft, builder.with_edited_mask(case.findings, "L3-L4"))
    s = new.sentence(mine.sentence_id)
    assert s.text == mine.text and s.provenance is SentenceProvenance.WRITTEN_BY_PERSON
    assert "dural sac area 92 mm² → " in s.stale_reason and s.suggestion is None
    assert new.sentence(general.sentence_id) == general
    ids = [x.sentence_id for x in new.findings]
    assert ids.index(mine.sentence_id) == len(ids) - 2 and ids[-1] == general.sentence_id


def test_impression_follows_a_change_in_severity_order(builder, case, draft):
    worse = builder.with_finding(case.findings, "L3-L4", grade=SchizasGrade.D, dural_sac_area_mm2=40.0)
    new = redraft_after_findings_change(draft, worse)
    assert [s.level for s in new.impression] == ["L3-L4", "L4-L5", "L5-S1"]
    assert new.sentence(impression_sentence_id("L4-L5")) is draft.sentence(impression_sentence_id("L4-L5"))


def test_level_label_edit_rederives_ai_sentences_and_flags_the_persons(builder, case, draft):
    """A transitional vertebra: the reader shifts every label one level down (L1-L2 -> L2-L3 ...)."""
    words = "Central disc protrusion at L4/L5, largely compressing the thecal sac."
    draft = edit_sentence(draft, L45, words, "Dr A")
    relabelled = builder.with_relabelled_levels(
        case.findings,
        {"L5-S1": "L5-L6", "L4-L5": "L5-S1", "L3-L4": "L4-L5", "L2-L3": "L3-L4", "L1-L2": "L2-L3"},
    )
    new = redraft_after_findings_change(draft, relabelled)
    # No disc is called L1-L2 any more: its AI sentence is gone; the new L5-L6 has one.
    assert [s.level for s in new.findings] == ["L2-L3", "L3-L4", "L4-L5", "L5-S1", "L5-L6"]
    # The disc graded C (severe) is now called L5-S1, and its AI sentence says so.
    assert "at L5-S1 level, with severe central canal stenosis" in new.sentence(L51).text
    assert new.sentence(L51).evidence.level_label_overridden
    # The person's sentence about "L4/L5" keeps its words, and is told where its disc went.
    s = new.sentence(L45)
    assert s.text == words and "now labelled L5-S1" in s.stale_reason
    assert "moderate central canal stenosis" in s.suggestion.text  # the disc now called L4-L5 is grade B
    assert new.impression[0].level == "L5-S1"


def test_ai_sentence_of_a_level_that_vanished_is_dropped_and_a_persons_kept(builder, case, draft):
    draft = edit_sentence(draft, findings_sentence_id("L1-L2"), "Normal L1/L2.", "Dr A")
    fewer = builder.build_case(axial_levels=("L3-L4", "L4-L5", "L5-S1")).findings
    fewer = type(fewer)(
        study_instance_uid=fewer.study_instance_uid,
        levels=tuple(d for d in fewer.levels if d.label not in ("L1-L2", "L2-L3")),
        findings=fewer.findings,
        masks=fewer.masks,
        provenance=fewer.provenance,
    )
    new = redraft_after_findings_change(draft, fewer)
    assert findings_sentence_id("L2-L3") not in {s.sentence_id for s in new.findings}
    kept = new.sentence(findings_sentence_id("L1-L2"))
    assert kept.text == "Normal L1/L2." and "no longer include L1-L2" in kept.stale_reason


def test_removed_sentence_stays_removed_until_its_evidence_changes(builder, case, draft):
    sid = impression_sentence_id("L5-S1")
    draft = remove_sentence(draft, sid, "Dr A")
    assert sid not in {s.sentence_id for s in draft.impression}
    unrelated = redraft_after_findings_change(draft, builder.with_edited_mask(case.findings, "L3-L4"))
    assert sid not in {s.sentence_id for s in unrelated.impression}
    assert [s.sentence_id for s in unrelated.removed] == [sid]
    related = redraft_after_findings_change(
        draft, builder.with_edited_mask(case.findings, "L5-S1", shrink_px=4)
    )
    assert sid in {s.sentence_id for s in related.impression} and related.removed == ()


def test_no_stenosis_line_edited_by_a_person_is_flagged_when_stenosis_appears(builder):
    normal = builder.build_case(
        grades=dict.fromkeys(("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"), "A"),
        areas=dict.fromkeys(("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"), 140.0),
        ap=dict.fromkeys(("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"), 14.0),
    )
    draft = draft_report(normal.findings, normal.study)
    draft = edit_sentence(draft, "impression/no-stenosis", "Adequate spinal canal.", "Dr A")
    new = redraft_after_findings_change(
        draft, builder.with_finding(normal.findings, "L4-L5", grade=SchizasGrade.C, dural_sac_area_mm2=58.0)
    )
    assert [s.sentence_id for s in new.impression] == [
        impression_sentence_id("L4-L5"),
        "impression/no-stenosis",
    ]
    assert "now show narrowing at L4-L5" in new.sentence("impression/no-stenosis").stale_reason


def test_redraft_refuses_findings_of_another_study(case, draft):
    from dataclasses import replace

    with pytest.raises(ValueError, match="findings are for study"):
        redraft_after_findings_change(draft, replace(case.findings, study_instance_uid="9.9"))

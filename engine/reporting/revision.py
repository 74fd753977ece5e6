"""Changes to a draft: a person's edits, and re-drafting after the findings changed.

Rules (clinical.md, "Sign-off and safety"):
- AI-drafted sentences stay marked until a person accepts or edits them.
- After a mask or level-label edit, only the sentences whose evidence changed are re-derived.
- A person's words (edited or written sentences) are never replaced by software: the sentence
  keeps its text, is flagged as possibly stale with the reason, and the sentence software would
  write now is attached as a suggestion the person may accept.
- A sentence a person accepted unchanged is AI text: when its evidence changes it is re-derived
  and marked AI-drafted again, so it needs review again.
- A sentence a person removed stays removed until its evidence changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from engine.findings import StudyFindings
from engine.reporting.drafting import (
    NO_STENOSIS_ID,
    attribution_text,
    draft_findings_sentences,
    findings_sentence_id,
    level_order,
    severity_order,
)
from engine.reporting.measurement_text import (
    AREA_UNIT,
    LENGTH_UNIT,
    format_ap_diameter,
    format_dural_sac_area,
)
from engine.reporting.model import Evidence, ReportDraft, Section, Sentence, SentenceProvenance
from engine.reporting.template import ReportTemplate, load_report_template

_PERSON_ID = re.compile(r"^person/(\d+)$")


def _replace_sentence(draft: ReportDraft, new: Sentence) -> ReportDraft:
    section = draft.section(new.section)
    return draft.with_section(
        new.section, tuple(new if s.sentence_id == new.sentence_id else s for s in section)
    )


def _require_person(person: str) -> str:
    if not person or not person.strip():
        raise ValueError("a person's name is required for every change to a report")
    return person.strip()


def current_evidence(draft: ReportDraft, level: str) -> Evidence | None:
    """The evidence the software holds now for a level, from the draft's findings sentence."""
    try:
        s = draft.sentence(findings_sentence_id(level))
    except KeyError:
        return None
    if s.suggestion is not None:
        return s.suggestion.evidence
    return None if s.stale_reason is not None else s.evidence


def edit_sentence(draft: ReportDraft, sentence_id: str, text: str, person: str) -> ReportDraft:
    """A person rewrites a sentence. The sentence becomes the person's (edited, or still written by
    the person); a stale flag is cleared, since the person wrote against the current evidence."""
    person = _require_person(person)
    text = text.strip()
    if not text:
        raise ValueError(f"sentence {sentence_id}: the new text is empty; remove the sentence instead")
    old = draft.sentence(sentence_id)
    if text == old.text and old.stale_reason is None and old.provenance.is_persons_text:
        return draft
    evidence = old.evidence
    if old.stale_reason is not None:
        evidence = (
            old.suggestion.evidence
            if old.suggestion is not None
            else (current_evidence(draft, old.level) if old.level else old.evidence)
        )
    provenance = (
        SentenceProvenance.WRITTEN_BY_PERSON
        if old.provenance is SentenceProvenance.WRITTEN_BY_PERSON
        else SentenceProvenance.EDITED_BY_PERSON
    )
    return _replace_sentence(
        draft,
        replace(
            old,
            text=text,
            evidence=evidence,
            provenance=provenance,
            person=person,
            stale_reason=None,
            suggestion=None,
        ),
    )


def accept_sentence(draft: ReportDraft, sentence_id: str, person: str) -> ReportDraft:
    """A person takes responsibility for a sentence as it stands.

    An AI-drafted sentence becomes accepted. A stale sentence keeps its words, and the person's
    acceptance ties it to the current evidence (the stale flag and suggestion are cleared).
    """
    person = _require_person(person)
    old = draft.sentence(sentence_id)
    if old.stale_reason is not None:
        evidence = (
            old.suggestion.evidence
            if old.suggestion is not None
            else (current_evidence(draft, old.level) if old.level else old.evidence)
        )
        new = replace(old, evidence=evidence, stale_reason=None, suggestion=None, person=person)
        if old.provenance is SentenceProvenance.AI_DRAFTED:
            new = replace(new, provenance=SentenceProvenance.ACCEPTED_BY_PERSON)
        return _replace_sentence(draft, new)
    if old.provenance is SentenceProvenance.AI_DRAFTED:
        return _replace_sentence(
            draft, replace(old, provenance=SentenceProvenance.ACCEPTED_BY_PERSON, person=person)
        )
    return draft


def accept_all_sentences(draft: ReportDraft, person: str) -> ReportDraft:
    """A person accepts every AI-drafted sentence at once. Stale sentences are left for the person
    to resolve one by one (keep, edit, or take the suggestion)."""
    person = _require_person(person)
    for s in draft.sentences:
        if s.provenance is SentenceProvenance.AI_DRAFTED and s.stale_reason is None:
            draft = _replace_sentence(
                draft, replace(s, provenance=SentenceProvenance.ACCEPTED_BY_PERSON, person=person)
            )
    return draft


def accept_suggestion(draft: ReportDraft, sentence_id: str, person: str) -> ReportDraft:
    """A person replaces their stale sentence with the software's current suggestion."""
    person = _require_person(person)
    old = draft.sentence(sentence_id)
    if old.suggestion is None:
        raise ValueError(f"sentence {sentence_id} has no suggestion to accept")
    new = replace(old.suggestion, provenance=SentenceProvenance.ACCEPTED_BY_PERSON, person=person)
    return _replace_sentence(draft, new)


def _next_person_id(draft: ReportDraft) -> str:
    numbers = [
        int(m.group(1)) for s in draft.sentences + draft.removed if (m := _PERSON_ID.match(s.sentence_id))
    ]
    return f"person/{max(numbers, default=0) + 1}"


def add_sentence(
    draft: ReportDraft,
    section: Section,
    text: str,
    person: str,
    level: str | None = None,
    after_sentence_id: str | None = None,
) -> tuple[ReportDraft, Sentence]:
    """A person writes a new sentence, placed after `after_sentence_id` or at the end of the section.

    With a `level`, the sentence is tied to the level's current evidence, so a later change of the
    findings at that level flags it as possibly stale. Returns the new draft and the new sentence.
    """
    person = _require_person(person)
    text = text.strip()
    if not text:
        raise ValueError("a new sentence needs text")
    sentence = Sentence(
        sentence_id=_next_person_id(draft),
        section=section,
        text=text,
        level=level,
        evidence=None if level is None else current_evidence(draft, level),
        provenance=SentenceProvenance.WRITTEN_BY_PERSON,
        model_provenance=None,
        person=person,
    )
    existing = list(draft.section(section))
    ids = [s.sentence_id for s in existing]
    if after_sentence_id is not None and after_sentence_id not in ids:
        raise KeyError(f"no sentence {after_sentence_id!r} in section {section.value}")
    index = len(existing) if after_sentence_id is None else ids.index(after_sentence_id) + 1
    existing.insert(index, sentence)
    return draft.with_section(section, tuple(existing)), sentence


def remove_sentence(draft: ReportDraft, sentence_id: str, person: str) -> ReportDraft:
    """A person removes a sentence. A removed AI sentence stays out of later redrafts until its
    evidence changes."""
    person = _require_person(person)
    old = draft.sentence(sentence_id)
    remaining = tuple(s for s in draft.section(old.section) if s.sentence_id != sentence_id)
    removed = (*(s for s in draft.removed if s.sentence_id != sentence_id), replace(old, person=person))
    return replace(draft.with_section(old.section, remaining), removed=removed)


def _change_reason(
    level: str | None,
    old: Evidence | None,
    new: Evidence | None,
    new_level_of: Callable[[Evidence], str | None],
) -> str:
    """Why a sentence may be stale, in words a radiologist reads in the report editor."""
    if new is None:
        return f"the findings no longer include {level}" if level else "the findings changed"
    if old is None:
        return f"new findings at {level}" if level else "the findings changed"
    parts: list[str] = []
    moved_to = new_level_of(old)
    if moved_to is not None and moved_to != level:
        parts.append(f"the disc this sentence described is now labelled {moved_to}")
    elif old.level_label_overridden != new.level_label_overridden or (
        old.disc_sagittal_sop_instance_uid != new.disc_sagittal_sop_instance_uid
    ):
        parts.append(f"the level label {level} was changed")
    if old.grade != new.grade:
        parts.append(
            f"grade {old.grade.value if old.grade else 'not assessed'} → "
            f"{new.grade.value if new.grade else 'not assessed'}"
        )
    for name, a, b, fmt, unit in (
        ("dural sac area", old.dural_sac_area_mm2, new.dural_sac_area_mm2, format_dural_sac_area, AREA_UNIT),
        ("AP diameter", old.ap_diameter_mm, new.ap_diameter_mm, format_ap_diameter, LENGTH_UNIT),
    ):
        a_text = "not measured" if a is None else f"{fmt(a)} {unit}"
        b_text = "not measured" if b is None else f"{fmt(b)} {unit}"
        if a_text != b_text:
            parts.append(f"{name} {a_text} → {b_text}")
    if old.mask != new.mask:
        parts.append(
            "the mask was edited by a person"
            if new.mask is not None and new.mask.edited_by_person
            else "the mask changed"
        )
    if old.key_slice_sop_instance_uid != new.key_slice_sop_instance_uid:
        parts.append("the key slice changed")
    return "; ".join(parts) if parts else "the evidence changed"


def _merge_generated(
    old: Sentence, new: Sentence | None, reason: Callable[[Sentence, Evidence | None], str]
) -> Sentence | None:
    """Merge an old generated-id sentence with what software drafts now (None: nothing)."""
    if new is not None and old.evidence == new.evidence:
        if old.stale_reason is None:
            return old
        return replace(old, stale_reason=None, suggestion=None)
    if old.provenance is SentenceProvenance.AI_DRAFTED:
        return new
    if old.provenance is SentenceProvenance.ACCEPTED_BY_PERSON and new is not None:
        return new
    return replace(old, stale_reason=reason(old, None if new is None else new.evidence), suggestion=new)


def _recheck_written(
    old: Sentence, evidence_now: dict[str, Evidence], reason: Callable[..., str]
) -> Sentence:
    if old.level is None:
        return old
    new_evidence = evidence_now.get(old.level)
    if new_evidence == old.evidence:
        return replace(old, stale_reason=None) if old.stale_reason is not None else old
    return replace(old, stale_reason=reason(old, new_evidence), suggestion=None)


def _place_person_sentences(
    old: Iterable[Sentence], ordered: list[Sentence], persons: dict[str, Sentence]
) -> tuple[Sentence, ...]:
    """Put a person's sentences back after the sentence they followed before."""
    result = list(ordered)
    anchor: str | None = None
    inserted_after: dict[str | None, int] = {}
    for s in old:
        if s.sentence_id not in persons:
            if any(r.sentence_id == s.sentence_id for r in result):
                anchor = s.sentence_id
            continue
        base = -1 if anchor is None else next(i for i, r in enumerate(result) if r.sentence_id == anchor)
        offset = inserted_after.get(anchor, 0)
        result.insert(base + 1 + offset, persons[s.sentence_id])
        inserted_after[anchor] = offset + 1
    return tuple(result)


def redraft_after_findings_change(
    draft: ReportDraft, new_findings: StudyFindings, template: ReportTemplate | None = None
) -> ReportDraft:
    """Re-derive the sentences whose evidence changed (after a mask or level-label edit).

    Unaffected sentences are returned unchanged (the same objects). See the module docstring for
    what happens to accepted, edited, written and removed sentences. The technique is not touched.
    """
    if new_findings.study_instance_uid != draft.study_instance_uid:
        raise ValueError(
            f"findings are for study {new_findings.study_instance_uid}, "
            f"the draft for {draft.study_instance_uid}"
        )
    template = template or load_report_template()
    new_level_sentences, new_impression = draft_findings_sentences(new_findings, template)
    evidence_now = {s.level: s.evidence for s in new_level_sentences if s.level and s.evidence}
    by_key_slice = {
        (e.key_slice_sop_instance_uid, e.key_slice_frame_index): level
        for level, e in evidence_now.items()
        if e.key_slice_sop_instance_uid is not None
    }

    def new_level_of(e: Evidence) -> str | None:
        if e.key_slice_sop_instance_uid is None:
            return None
        return by_key_slice.get((e.key_slice_sop_instance_uid, e.key_slice_frame_index))

    def reason(old: Sentence, new_evidence: Evidence | None) -> str:
        if old.sentence_id == NO_STENOSIS_ID:
            levels = ", ".join(s.level for s in new_impression if s.level)
            return f"the findings now show narrowing at {levels}"
        if old.section is Section.IMPRESSION and new_evidence is None and old.level in evidence_now:
            return f"the findings at {old.level} no longer call for an impression line"
        return "possibly stale: " + _change_reason(old.level, old.evidence, new_evidence, new_level_of)

    removed = {s.sentence_id: s for s in draft.removed}
    readded: set[str] = set()

    def merge_section(old_sentences: tuple[Sentence, ...], drafted: tuple[Sentence, ...]) -> list[Sentence]:
        drafted_by_id = {s.sentence_id: s for s in drafted}
        merged: list[Sentence] = []
        for old in old_sentences:
            if old.provenance is SentenceProvenance.WRITTEN_BY_PERSON:
                continue
            m = _merge_generated(old, drafted_by_id.get(old.sentence_id), reason)
            if m is not None:
                merged.append(m)
        present = {s.sentence_id for s in old_sentences}
        for s in drafted:
            if s.sentence_id in present:
                continue
            gone = removed.get(s.sentence_id)
            if gone is None or gone.evidence != s.evidence:
                merged.append(s)
                readded.add(s.sentence_id)
        return merged

    def evidence_key(s: Sentence) -> Evidence | None:
        return evidence_now.get(s.level) if s.level else None

    findings_merged = sorted(
        merge_section(draft.findings, new_level_sentences), key=lambda s: level_order(s.level or "")
    )

    def impression_key(s: Sentence) -> tuple[int, tuple[int, int, float], tuple[int, str]]:
        e = evidence_key(s) or s.evidence
        if s.level is None or e is None:
            return (1, (0, 0, 0.0), (0, ""))
        return (0, severity_order(e, template), level_order(s.level))

    impression_merged = sorted(merge_section(draft.impression, new_impression), key=impression_key)

    def persons(section: tuple[Sentence, ...]) -> dict[str, Sentence]:
        return {
            s.sentence_id: _recheck_written(s, evidence_now, reason)
            for s in section
            if s.provenance is SentenceProvenance.WRITTEN_BY_PERSON
        }

    provenance = new_findings.provenance or (
        new_findings.findings[0].provenance if new_findings.findings else draft.findings_provenance
    )
    return replace(
        draft,
        findings=_place_person_sentences(draft.findings, findings_merged, persons(draft.findings)),
        impression=_place_person_sentences(draft.impression, impression_merged, persons(draft.impression)),
        technique=tuple(
            _recheck_written(s, evidence_now, reason)
            if s.provenance is SentenceProvenance.WRITTEN_BY_PERSON
            else s
            for s in draft.technique
        ),
        removed=tuple(s for s in draft.removed if s.sentence_id not in readded),
        attribution=attribution_text(provenance, template),
        findings_provenance=provenance,
    )

"""Typed, frozen report draft: sentences grouped in sections, each linked to its level and evidence.

A sentence knows which disc level it describes, the measurements and images it rests on
(`Evidence`), and who is responsible for its words (`SentenceProvenance`). Drafts serialise to a
versioned JSON document (`draft_to_dict` / `draft_from_dict`) for autosave and audit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from engine.findings import Provenance, SchizasGrade

DRAFT_SCHEMA_VERSION = "1"


class Section(StrEnum):
    TECHNIQUE = "technique"
    FINDINGS = "findings"
    IMPRESSION = "impression"


class SentenceProvenance(StrEnum):
    """Who is responsible for a sentence's words."""

    AI_DRAFTED = "ai_drafted"  # software wrote it; no person has looked at it yet
    ACCEPTED_BY_PERSON = "accepted_by_person"  # software wrote it; a person accepted it unchanged
    EDITED_BY_PERSON = "edited_by_person"  # software wrote it; a person changed the words
    WRITTEN_BY_PERSON = "written_by_person"  # a person added it

    @property
    def is_persons_text(self) -> bool:
        """True when a person chose these words, so software must never replace them silently."""
        return self in (SentenceProvenance.EDITED_BY_PERSON, SentenceProvenance.WRITTEN_BY_PERSON)


@dataclass(frozen=True)
class MaskReference:
    """Which mask a measurement was made on. `sha256` covers the mask's shape and pixels, so an
    edited mask gives a different reference even when the rounded measurement does not change."""

    structure: str
    series_instance_uid: str
    sop_instance_uid: str
    frame_index: int | None
    sha256: str
    edited_by_person: bool


@dataclass(frozen=True)
class Evidence:
    """What a level sentence rests on: the grade, the measurements (mm², mm), the key slice, the mask,
    and the disc the level label belongs to."""

    grade: SchizasGrade | None
    dural_sac_area_mm2: float | None
    ap_diameter_mm: float | None
    confidence: float | None  # 0..1
    key_slice_series_uid: str | None
    key_slice_sop_instance_uid: str | None
    key_slice_frame_index: int | None
    mask: MaskReference | None
    disc_sagittal_sop_instance_uid: str | None = None
    level_label_overridden: bool = False


@dataclass(frozen=True)
class Sentence:
    """One sentence of a report.

    `stale_reason` and `suggestion` are set only on a person's sentence whose evidence changed after
    the person wrote it: the words are kept, and the sentence software would write now is offered.
    """

    sentence_id: str  # stable: "technique", "findings/L4-L5", "impression/L4-L5", "person/3"
    section: Section
    text: str
    level: str | None  # one of DISC_LEVELS, or None for a sentence about the whole study
    evidence: Evidence | None
    provenance: SentenceProvenance
    model_provenance: Provenance | None  # the model whose findings the sentence was drafted from
    person: str | None = None  # who accepted, edited or wrote it
    stale_reason: str | None = None
    suggestion: Sentence | None = None

    @property
    def needs_review(self) -> bool:
        """True while no person has taken responsibility for the sentence as it stands."""
        return self.provenance is SentenceProvenance.AI_DRAFTED or self.stale_reason is not None


@dataclass(frozen=True)
class ReportDraft:
    """A report being written: three sections of sentences and the software attribution line."""

    study_instance_uid: str
    technique: tuple[Sentence, ...]
    findings: tuple[Sentence, ...]  # one per disc level, cranial to caudal, then a person's additions
    impression: tuple[Sentence, ...]  # the most severe levels first
    attribution: str  # "drafted by software, reviewed by the signing radiologist"
    template_name: str
    findings_provenance: Provenance | None
    removed: tuple[Sentence, ...] = ()  # sentences a person removed, kept so a redraft respects it

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        """All sentences in reading order."""
        return self.technique + self.findings + self.impression

    def section(self, section: Section) -> tuple[Sentence, ...]:
        return {
            Section.TECHNIQUE: self.technique,
            Section.FINDINGS: self.findings,
            Section.IMPRESSION: self.impression,
        }[section]

    def with_section(self, section: Section, sentences: tuple[Sentence, ...]) -> ReportDraft:
        if section is Section.TECHNIQUE:
            return replace(self, technique=sentences)
        if section is Section.FINDINGS:
            return replace(self, findings=sentences)
        return replace(self, impression=sentences)

    def sentence(self, sentence_id: str) -> Sentence:
        for s in self.sentences:
            if s.sentence_id == sentence_id:
                return s
        raise KeyError(f"no sentence {sentence_id!r} in the draft of study {self.study_instance_uid}")

    @property
    def needs_review(self) -> tuple[Sentence, ...]:
        return tuple(s for s in self.sentences if s.needs_review)

    def section_text(self, section: Section) -> str:
        return " ".join(s.text for s in self.section(section))

    def as_text(self) -> str:
        """Plain text: one paragraph per section, one line per finding, then the attribution."""
        parts = [
            "TECHNIQUE",
            self.section_text(Section.TECHNIQUE),
            "",
            "FINDINGS",
            *(s.text for s in self.findings),
            "",
            "IMPRESSION",
            *(s.text for s in self.impression),
            "",
            self.attribution,
        ]
        return "\n".join(parts) + "\n"


def provenance_to_dict(p: Provenance | None) -> dict[str, Any] | None:
    """Parameters as [name, value] pairs, so their order survives JSON with sorted keys."""
    if p is None:
        return None
    return {**p.as_dict(), "parameters": [[k, v] for k, v in p.parameters]}


def provenance_from_dict(d: dict[str, Any] | None) -> Provenance | None:
    """Inverse of provenance_to_dict; also reads `Provenance.as_dict()` (parameters as an object)."""
    if d is None:
        return None
    raw = d.get("parameters", [])
    pairs = raw.items() if isinstance(raw, dict) else raw
    return Provenance(
        model_name=str(d["model_name"]),
        model_version=str(d["model_version"]),
        model_sha256=str(d["model_sha256"]),
        engine_version=str(d["engine_version"]),
        parameters=tuple((str(k), str(v)) for k, v in pairs),
    )


def _mask_to_dict(m: MaskReference | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "structure": m.structure,
        "series_instance_uid": m.series_instance_uid,
        "sop_instance_uid": m.sop_instance_uid,
        "frame_index": m.frame_index,
        "sha256": m.sha256,
        "edited_by_person": m.edited_by_person,
    }


def _mask_from_dict(d: dict[str, Any] | None) -> MaskReference | None:
    if d is None:
        return None
    return MaskReference(
        structure=str(d["structure"]),
        series_instance_uid=str(d["series_instance_uid"]),
        sop_instance_uid=str(d["sop_instance_uid"]),
        frame_index=d["frame_index"],
        sha256=str(d["sha256"]),
        edited_by_person=bool(d["edited_by_person"]),
    )


def _evidence_to_dict(e: Evidence | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "grade": None if e.grade is None else e.grade.value,
        "dural_sac_area_mm2": e.dural_sac_area_mm2,
        "ap_diameter_mm": e.ap_diameter_mm,
        "confidence": e.confidence,
        "key_slice_series_uid": e.key_slice_series_uid,
        "key_slice_sop_instance_uid": e.key_slice_sop_instance_uid,
        "key_slice_frame_index": e.key_slice_frame_index,
        "mask": _mask_to_dict(e.mask),
        "disc_sagittal_sop_instance_uid": e.disc_sagittal_sop_instance_uid,
        "level_label_overridden": e.level_label_overridden,
    }


def _evidence_from_dict(d: dict[str, Any] | None) -> Evidence | None:
    if d is None:
        return None
    return Evidence(
        grade=None if d["grade"] is None else SchizasGrade(d["grade"]),
        dural_sac_area_mm2=d["dural_sac_area_mm2"],
        ap_diameter_mm=d["ap_diameter_mm"],
        confidence=d["confidence"],
        key_slice_series_uid=d["key_slice_series_uid"],
        key_slice_sop_instance_uid=d["key_slice_sop_instance_uid"],
        key_slice_frame_index=d["key_slice_frame_index"],
        mask=_mask_from_dict(d["mask"]),
        disc_sagittal_sop_instance_uid=d.get("disc_sagittal_sop_instance_uid"),
        level_label_overridden=bool(d.get("level_label_overridden", False)),
    )


def sentence_to_dict(s: Sentence) -> dict[str, Any]:
    return {
        "id": s.sentence_id,
        "section": s.section.value,
        "text": s.text,
        "level": s.level,
        "evidence": _evidence_to_dict(s.evidence),
        "provenance": s.provenance.value,
        "model_provenance": provenance_to_dict(s.model_provenance),
        "person": s.person,
        "stale_reason": s.stale_reason,
        "suggestion": None if s.suggestion is None else sentence_to_dict(s.suggestion),
    }


def sentence_from_dict(d: dict[str, Any]) -> Sentence:
    return Sentence(
        sentence_id=str(d["id"]),
        section=Section(d["section"]),
        text=str(d["text"]),
        level=d["level"],
        evidence=_evidence_from_dict(d["evidence"]),
        provenance=SentenceProvenance(d["provenance"]),
        model_provenance=provenance_from_dict(d["model_provenance"]),
        person=d.get("person"),
        stale_reason=d.get("stale_reason"),
        suggestion=None if d.get("suggestion") is None else sentence_from_dict(d["suggestion"]),
    )


def draft_to_dict(draft: ReportDraft) -> dict[str, Any]:
    """JSON-ready dict of a draft (schema `DRAFT_SCHEMA_VERSION`)."""
    return {
        "schema": "lss-report-draft",
        "schema_version": DRAFT_SCHEMA_VERSION,
        "study_instance_uid": draft.study_instance_uid,
        "template_name": draft.template_name,
        "findings_provenance": provenance_to_dict(draft.findings_provenance),
        "attribution": draft.attribution,
        "technique": [sentence_to_dict(s) for s in draft.technique],
        "findings": [sentence_to_dict(s) for s in draft.findings],
        "impression": [sentence_to_dict(s) for s in draft.impression],
        "removed": [sentence_to_dict(s) for s in draft.removed],
    }


class DraftFormatError(ValueError):
    """A stored draft document cannot be read; the message names the field."""


def draft_from_dict(d: dict[str, Any]) -> ReportDraft:
    """Inverse of `draft_to_dict`; raises DraftFormatError naming the field that is wrong."""
    if d.get("schema") != "lss-report-draft":
        raise DraftFormatError("not a report draft: field 'schema' must be 'lss-report-draft'")
    if d.get("schema_version") != DRAFT_SCHEMA_VERSION:
        raise DraftFormatError(
            f"report draft schema_version {d.get('schema_version')!r} is not supported "
            f"(this version reads {DRAFT_SCHEMA_VERSION!r})"
        )
    try:
        return ReportDraft(
            study_instance_uid=str(d["study_instance_uid"]),
            technique=tuple(sentence_from_dict(s) for s in d["technique"]),
            findings=tuple(sentence_from_dict(s) for s in d["findings"]),
            impression=tuple(sentence_from_dict(s) for s in d["impression"]),
            attribution=str(d["attribution"]),
            template_name=str(d["template_name"]),
            findings_provenance=provenance_from_dict(d["findings_provenance"]),
            removed=tuple(sentence_from_dict(s) for s in d.get("removed", [])),
        )
    except KeyError as exc:
        raise DraftFormatError(f"report draft lacks field {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise DraftFormatError(f"report draft has an invalid value: {exc}") from exc

"""Findings -> report draft: technique, one canal sentence per disc level, impression, attribution.

Every drafted sentence is marked AI-drafted, names its level, and carries the evidence it was
written from (grade, dural sac area, AP diameter, key slice, mask), so the app can link a sentence
to its images and re-derive it when the evidence changes (see `revision`).
"""

from __future__ import annotations

from engine import __version__
from engine.findings import (
    DISC_LEVELS,
    Condition,
    DiscLevel,
    LevelFinding,
    Provenance,
    SchizasGrade,
    StudyFindings,
)
from engine.reporting.evidence import evidence_for_finding
from engine.reporting.measurement_text import (
    AREA_UNIT,
    LENGTH_UNIT,
    format_ap_diameter,
    format_dural_sac_area,
)
from engine.reporting.model import Evidence, ReportDraft, Section, Sentence, SentenceProvenance
from engine.reporting.template import ReportTemplate, SizeCategory, load_report_template
from engine.study.model import Orientation, Sequence, Study

TECHNIQUE_ID = "technique"
NO_STENOSIS_ID = "impression/no-stenosis"

_GRADE_RANK = {SchizasGrade.A: 0, SchizasGrade.B: 1, SchizasGrade.C: 2, SchizasGrade.D: 3}
_SIZE_RANK = {
    SizeCategory.UNKNOWN: 0,
    SizeCategory.NORMAL: 0,
    SizeCategory.RELATIVE: 1,
    SizeCategory.ABSOLUTE: 2,
}
_ORIENTATION_ORDER = (Orientation.SAGITTAL, Orientation.CORONAL, Orientation.AXIAL, Orientation.OBLIQUE)
_SEQUENCE_ORDER = (Sequence.T1, Sequence.T2, Sequence.STIR)


def findings_sentence_id(level: str, condition: Condition = Condition.CENTRAL_CANAL_STENOSIS) -> str:
    return f"findings/{level}/{condition.value}"


def impression_sentence_id(level: str, condition: Condition = Condition.CENTRAL_CANAL_STENOSIS) -> str:
    return f"impression/{level}/{condition.value}"


def level_order(level: str) -> tuple[int, str]:
    """Sort key: cranial to caudal for DISC_LEVELS, other labels (e.g. L5-L6) after them."""
    return (DISC_LEVELS.index(level), level) if level in DISC_LEVELS else (len(DISC_LEVELS), level)


def join_list(items: list[str], list_and: str) -> str:
    """Joins items: "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {list_and} {items[-1]}"


def technique_text(study: Study | None, template: ReportTemplate) -> str:
    """The technique line from the series of the study, e.g. "sagittal T1, sagittal T2 and axial T2"."""
    if study is None:
        return template.technique_no_study
    seen: dict[tuple[Orientation, Sequence], bool] = {}
    for s in study.series:
        if s.orientation is Orientation.UNKNOWN or s.sequence is Sequence.UNKNOWN:
            continue
        key = (s.orientation, s.sequence)
        seen[key] = seen.get(key, False) or (s.orientation is Orientation.AXIAL and s.is_angled_stack)
    if not seen:
        return template.technique_no_study
    ordered = sorted(seen, key=lambda k: (_ORIENTATION_ORDER.index(k[0]), _SEQUENCE_ORDER.index(k[1])))
    items = [
        f"{o.value} {q.value}" + (template.angled_axial_suffix if seen[(o, q)] else "") for o, q in ordered
    ]
    return template.technique_text.format(sequences=join_list(items, template.list_and))


def phrase_values(level: str, evidence: Evidence, template: ReportTemplate) -> dict[str, str]:
    """Placeholder values for a level phrase (see the template's documentation)."""
    missing = template.measurements["not_measured"]
    area = evidence.dural_sac_area_mm2
    ap = evidence.ap_diameter_mm
    dsca = missing if area is None else f"{format_dural_sac_area(area)} {AREA_UNIT}"
    ap_text = missing if ap is None else f"{format_ap_diameter(ap)} {LENGTH_UNIT}"
    key = (
        "both"
        if area is not None and ap is not None
        else "dsca_only"
        if area is not None
        else "ap_only"
        if ap is not None
        else "none"
    )
    grade = evidence.grade
    return {
        "level": template.level_text(level),
        "grade": "" if grade is None else grade.value,
        "severity": "" if grade is None else template.severity[grade.value],
        "dsca": dsca,
        "ap": ap_text,
        "measurements": template.measurements[key].format(dsca=dsca, ap=ap_text),
    }


def size_category(evidence: Evidence, template: ReportTemplate) -> SizeCategory:
    return template.thresholds.categorise(evidence.dural_sac_area_mm2, evidence.ap_diameter_mm)


def canal_text(level: str, evidence: Evidence, template: ReportTemplate) -> str:
    if evidence.grade is None:
        return template.canal_not_assessed.format(level=template.level_text(level))
    phrase = template.canal_phrase(evidence.grade, size_category(evidence, template))
    return phrase.format(**phrase_values(level, evidence, template))


def impression_text(level: str, evidence: Evidence, template: ReportTemplate) -> str | None:
    """The impression sentence for a level, or None when the template leaves the level out."""
    if evidence.grade is None:
        return None
    phrase = template.impression_phrase(evidence.grade, size_category(evidence, template))
    return None if phrase is None else phrase.format(**phrase_values(level, evidence, template))


def severity_order(evidence: Evidence, template: ReportTemplate) -> tuple[int, int, float]:
    """Sort key putting the most severe level first: grade, then size category, then smaller DSCA."""
    grade_rank = -1 if evidence.grade is None else _GRADE_RANK[evidence.grade]
    area = evidence.dural_sac_area_mm2
    return (
        -grade_rank,
        -_SIZE_RANK[size_category(evidence, template)],
        float("inf") if area is None else area,
    )


def attribution_text(provenance: Provenance | None, template: ReportTemplate) -> str:
    model = "(unknown)" if provenance is None else f"{provenance.model_name} {provenance.model_version}"
    return template.attribution.format(engine_version=__version__, model=model)


def _not_assessed_evidence(disc: DiscLevel) -> Evidence:
    return Evidence(
        grade=None,
        dural_sac_area_mm2=None,
        ap_diameter_mm=None,
        confidence=None,
        key_slice_series_uid=None,
        key_slice_sop_instance_uid=None,
        key_slice_frame_index=None,
        mask=None,
        disc_sagittal_sop_instance_uid=disc.sagittal_sop_instance_uid,
        level_label_overridden=disc.label_overridden,
    )


def level_evidence(findings: StudyFindings) -> dict[str, tuple[Evidence, LevelFinding | None]]:
    """Evidence per level label (central canal), cranial to caudal; levels found on the sagittal
    series without an axial finding get an evidence without a grade ("not assessed")."""
    by_level: dict[str, tuple[Evidence, LevelFinding | None]] = {}
    for f in findings.findings:
        if f.condition is Condition.CENTRAL_CANAL_STENOSIS:
            by_level[f.level] = (evidence_for_finding(findings, f), f)
    for disc in findings.levels:
        if disc.label not in by_level:
            by_level[disc.label] = (_not_assessed_evidence(disc), None)
    return {k: by_level[k] for k in sorted(by_level, key=level_order)}


def _findings_provenance(findings: StudyFindings) -> Provenance | None:
    if findings.provenance is not None:
        return findings.provenance
    return findings.findings[0].provenance if findings.findings else None


def draft_findings_sentences(
    findings: StudyFindings, template: ReportTemplate
) -> tuple[tuple[Sentence, ...], tuple[Sentence, ...]]:
    """(findings section, impression section) drafted from the findings alone."""
    study_provenance = _findings_provenance(findings)
    level_sentences: list[Sentence] = []
    impression: list[tuple[tuple[int, int, float], tuple[int, str], Sentence]] = []
    for level, (evidence, finding) in level_evidence(findings).items():
        provenance = study_provenance if finding is None else finding.provenance
        level_sentences.append(
            Sentence(
                sentence_id=findings_sentence_id(level),
                section=Section.FINDINGS,
                text=canal_text(level, evidence, template),
                level=level,
                evidence=evidence,
                provenance=SentenceProvenance.AI_DRAFTED,
                model_provenance=provenance,
            )
        )
        text = impression_text(level, evidence, template)
        if text is not None:
            sentence = Sentence(
                sentence_id=impression_sentence_id(level),
                section=Section.IMPRESSION,
                text=text,
                level=level,
                evidence=evidence,
                provenance=SentenceProvenance.AI_DRAFTED,
                model_provenance=provenance,
            )
            impression.append((severity_order(evidence, template), level_order(level), sentence))
    impression_sentences = tuple(s for _, _, s in sorted(impression, key=lambda t: (t[0], t[1])))
    if not impression_sentences:
        impression_sentences = (
            Sentence(
                sentence_id=NO_STENOSIS_ID,
                section=Section.IMPRESSION,
                text=template.impression_none,
                level=None,
                evidence=None,
                provenance=SentenceProvenance.AI_DRAFTED,
                model_provenance=study_provenance,
            ),
        )
    return tuple(level_sentences), impression_sentences


def draft_report(
    findings: StudyFindings, study: Study | None, template: ReportTemplate | None = None
) -> ReportDraft:
    """Draft a report from the findings of one study.

    `study` gives the technique line (series found); None drafts from the findings alone.
    `template` defaults to `load_report_template()` (the site's file or the bundled default).
    """
    template = template or load_report_template()
    if study is not None and study.study_instance_uid != findings.study_instance_uid:
        raise ValueError(
            f"findings are for study {findings.study_instance_uid}, not {study.study_instance_uid}"
        )
    level_sentences, impression = draft_findings_sentences(findings, template)
    technique = Sentence(
        sentence_id=TECHNIQUE_ID,
        section=Section.TECHNIQUE,
        text=technique_text(study, template),
        level=None,
        evidence=None,
        provenance=SentenceProvenance.AI_DRAFTED,
        model_provenance=None,
    )
    provenance = _findings_provenance(findings)
    return ReportDraft(
        study_instance_uid=findings.study_instance_uid,
        technique=(technique,),
        findings=level_sentences,
        impression=impression,
        attribution=attribution_text(provenance, template),
        template_name=template.label,
        findings_provenance=provenance,
    )

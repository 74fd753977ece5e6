"""Study-level evaluation: findings files written by `lss analyze` (engine.findings_io) against the
ground truth of synthetic studies (engine.synthetic_study).

Per level: the finding's grade and probabilities against the true grade; its dural sac area against
the true DSCA; each dural sac mask of the findings against the true sac on that image (Dice, IoU,
with the grade of the image's level); and, when reference reports exist, the report text (a
`<findings>.txt` beside the findings file, else drafted from the findings with the default
template) against the reference report (engine.reporting.text_metrics).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.evaluation.overlap import dice_and_iou
from engine.evaluation.results import GRADES, GradedCase, ModelResults
from engine.evaluation.segmentation import AreaCase, SegmentationCase
from engine.findings import Structure, StudyFindings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class StudyEvaluation:
    """Results of one set of findings files, and the report texts to score (study UID -> text)."""

    results: ModelResults
    candidate_reports: dict[str, str] = field(default_factory=dict)
    reference_reports: dict[str, str] = field(default_factory=dict)


def index_ground_truth(roots: Sequence[Path]) -> dict[str, Any]:
    """StudyInstanceUID -> GroundTruth for every synthetic study under the roots (a study folder or
    a folder of them)."""
    from engine.synthetic_study import read_ground_truth

    index: dict[str, Any] = {}
    for root in roots:
        folders = (
            [root]
            if (root / "ground_truth" / "ground_truth.json").is_file()
            else sorted(p.parent.parent for p in root.glob("*/ground_truth/ground_truth.json"))
        )
        for folder in folders:
            truth = read_ground_truth(folder)
            index[truth.study_instance_uid] = truth
    return index


def _report_text(path: Path, findings: StudyFindings) -> str:
    written = path.with_suffix(".txt")
    if written.is_file():
        return written.read_text(encoding="utf-8")
    from engine.reporting.drafting import draft_report

    return draft_report(findings, None).as_text()


def evaluate_findings(
    findings_files: Sequence[Path], truth_roots: Sequence[Path], name: str = "findings"
) -> StudyEvaluation:
    """Score findings files against synthetic ground truth (unmatched studies are listed as missing)."""
    from engine.findings_io import load_findings

    truth_index = index_ground_truth(truth_roots)
    segmentation: list[SegmentationCase] = []
    areas: list[AreaCase] = []
    grading: list[GradedCase] = []
    missing: list[str] = []
    candidates: dict[str, str] = {}
    references: dict[str, str] = {}
    for path in findings_files:
        findings = load_findings(path)
        truth = truth_index.get(findings.study_instance_uid)
        if truth is None:
            missing.append(f"{path.name}: no ground truth for study {findings.study_instance_uid}")
            continue
        study = findings.study_instance_uid
        true_grades = {lv.level: lv.grade.value for lv in truth.levels}
        for level in truth.levels:
            finding = findings.finding_for(level.level)
            case_id = f"{study}/{level.level}"
            if finding is None:
                missing.append(f"{case_id}: no finding")
                continue
            probabilities = {g.value: p for g, p in finding.grade_probabilities}
            grading.append(
                GradedCase(
                    case_id,
                    study,
                    level.grade.value,
                    finding.grade.value,
                    tuple(float(probabilities.get(g, 0.0)) for g in GRADES),
                )
            )
            if finding.dural_sac_area_mm2 is not None:
                areas.append(
                    AreaCase(
                        case_id,
                        study,
                        level.grade.value,
                        finding.dural_sac_area_mm2,
                        level.dural_sac_area_mm2,
                    )
                )
        segmentation += _score_masks(findings, truth, true_grades)
        if truth.reference_report:
            candidates[study] = _report_text(path, findings)
            references[study] = truth.reference_report
    return StudyEvaluation(
        ModelResults(name, tuple(segmentation), tuple(areas), tuple(grading), tuple(missing)),
        candidates,
        references,
    )


def _score_masks(findings: StudyFindings, truth: Any, true_grades: dict[str, str]) -> list[SegmentationCase]:
    """Dice/IoU of every dural sac / posterior epidural fat mask of the findings on a ground-truth image."""
    located: dict[str, tuple[Any, int]] = {}
    for series in truth.series:
        for index, uid in enumerate(series.sop_instance_uids):
            located[uid] = (series, index)
    volumes: dict[str, Any] = {}
    cases = []
    wanted = {Structure.DURAL_SAC.value, Structure.POSTERIOR_EPIDURAL_FAT.value}
    for mask in findings.masks:
        structure = mask.structure.split(" at ")[0]
        if structure not in wanted or mask.sop_instance_uid not in located:
            continue
        series, index = located[mask.sop_instance_uid]
        if series.series_instance_uid not in volumes:
            volumes[series.series_instance_uid] = truth.load_mask(series)
        labels = volumes[series.series_instance_uid][index]
        reference = truth.structure_mask(labels, structure)
        if reference.shape != mask.mask.shape:
            logger.warning(
                "mask on %s has shape %s, the image %s",
                mask.sop_instance_uid,
                mask.mask.shape,
                reference.shape,
            )
            continue
        level = next((sl for sl in series.slice_levels if sl.sop_instance_uid == mask.sop_instance_uid), None)
        grade = true_grades.get(level.level) if level is not None and level.level else None
        dice, iou = dice_and_iou(mask.mask, reference)
        cases.append(
            SegmentationCase(
                f"{findings.study_instance_uid}/{mask.sop_instance_uid}/{structure}",
                findings.study_instance_uid,
                structure,
                grade,
                dice,
                iou,
            )
        )
    return cases

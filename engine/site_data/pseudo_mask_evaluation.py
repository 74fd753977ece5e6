"""How good are report-conditioned pseudo-masks? Scored on synthetic studies, whose reference
reports play the site's reports and whose label masks are the truth.

For every level of every study: parse the reference report, choose the axial slice from the disc
geometry, make the pseudo-mask, and compare the candidate (accepted or not) with the true dural sac
on that slice. `words_only` first removes what real notes do not write (the "(Schizas B, DSCA 77
mm²)" parentheses), so the text conditions through severity words alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.evaluation import bootstrap_mean_ci, dice_and_iou
from engine.site_data.level_geometry import DiscPlane, choose_axial_slice
from engine.site_data.pseudo_masks import PseudoMaskConfig, dural_sac_pseudo_mask
from engine.site_data.report_parser import parse_report

_EXPLICIT = re.compile(r"[(\[][^()\[\]]*(?:schizas|mm²|mm2)[^()\[\]]*[)\]]", re.IGNORECASE)


def strip_explicit_grades(report: str) -> str:
    """The report without parenthesised Schizas grades and areas (what real notes rarely state)."""
    return _EXPLICIT.sub("", report)


@dataclass(frozen=True)
class PseudoMaskCase:
    """One level of one synthetic study. dice: of the candidate mask against the truth (None when no
    candidate was found); reason: the rejection reason (None when accepted)."""

    study: str
    level: str
    true_grade: str
    severity: str | None
    stated_area_mm2: float | None
    accepted: bool
    reason: str | None
    area_mm2: float | None
    true_area_mm2: float | None
    dice: float | None


def evaluate_synthetic_study(
    root: Path, words_only: bool, config: PseudoMaskConfig | None = None
) -> list[PseudoMaskCase]:
    """Pseudo-mask cases of one synthetic study folder (OUT with study/ and ground_truth/)."""
    from engine.study import load_study
    from engine.synthetic_study import read_ground_truth

    truth = read_ground_truth(root)
    study = load_study(truth.study_dir)
    report = strip_explicit_grades(truth.reference_report) if words_only else truth.reference_report
    parsed = parse_report(report)
    masks = {s.series_instance_uid: (s, truth.load_mask(s)) for s in truth.series if s.orientation == "axial"}
    cases = []
    for level in truth.levels:
        said = parsed.level(level.level)
        severity = None if said is None else said.severity
        stated = None if said is None else said.stated_area_mm2
        choice = choose_axial_slice(
            study.series, DiscPlane(level.level, level.disc_centre_lps, level.disc_normal_lps)
        )
        if choice is None or choice.series_instance_uid not in masks:
            cases.append(
                PseudoMaskCase(
                    root.name,
                    level.level,
                    level.grade.value,
                    severity and severity.value,
                    stated,
                    False,
                    "level not covered by an axial slice",
                    None,
                    None,
                    None,
                )
            )
            continue
        series = study.series_by_uid(choice.series_instance_uid)
        series_truth, labels = masks[choice.series_instance_uid]
        truth_index = series_truth.sop_instance_uids.index(choice.sop_instance_uid)
        reference = truth.structure_mask(labels[truth_index], "dural sac")
        spacing = series.slices[choice.slice_index].geometry.pixel_spacing_mm  # type: ignore[union-attr]
        result = dural_sac_pseudo_mask(
            series.slice_pixels(choice.slice_index), spacing, choice.canal_rc, severity, stated, config
        )
        dice = None if result.candidate is None else dice_and_iou(result.candidate, reference)[0]
        cases.append(
            PseudoMaskCase(
                study=root.name,
                level=level.level,
                true_grade=level.grade.value,
                severity=None if severity is None else severity.value,
                stated_area_mm2=stated,
                accepted=result.accepted,
                reason=None if result.reason is None else result.reason.value,
                area_mm2=result.area_mm2,
                true_area_mm2=float(reference.sum()) * spacing[0] * spacing[1],
                dice=dice,
            )
        )
    return cases


def summarise_pseudo_mask_cases(cases: Sequence[PseudoMaskCase]) -> dict[str, Any]:
    """Acceptance and rejection counts (with reasons), overall and per true grade, and the Dice of
    accepted and of rejected candidates (mean with a 95 % bootstrap CI over studies)."""
    if not cases:
        raise ValueError("no pseudo-mask case to summarise")

    def dice_of(subset: list[PseudoMaskCase]) -> dict[str, Any] | None:
        scored = [c for c in subset if c.dice is not None]
        if not scored:
            return None
        return bootstrap_mean_ci([c.dice for c in scored], [c.study for c in scored]).as_dict()  # type: ignore[misc]

    def block(subset: list[PseudoMaskCase]) -> dict[str, Any]:
        accepted = [c for c in subset if c.accepted]
        rejected = [c for c in subset if not c.accepted]
        return {
            "levels": len(subset),
            "accepted": len(accepted),
            "rejected": len(rejected),
            "rejection_reasons": dict(Counter(c.reason for c in rejected)),
            "dice_accepted": dice_of(accepted),
            "dice_rejected_candidates": dice_of(rejected),
            "accepted_with_dice_below_0_5": sum(1 for c in accepted if c.dice is not None and c.dice < 0.5),
        }

    grades = sorted({c.true_grade for c in cases})
    return {
        "all": block(list(cases)),
        "grades": {g: block([c for c in cases if c.true_grade == g]) for g in grades},
        "severities": dict(Counter(c.severity for c in cases)),
        "cases": [asdict(c) for c in cases],
        "mean_area_error_accepted_mm2": (
            float(
                np.mean(
                    [
                        c.area_mm2 - c.true_area_mm2
                        for c in cases
                        if c.accepted and c.area_mm2 is not None and c.true_area_mm2 is not None
                    ]
                )
            )
            if any(c.accepted for c in cases)
            else None
        ),
    }

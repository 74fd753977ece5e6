"""The training target of each labelled level: the site's own mask on the level's axial slice, else
an accepted report-conditioned pseudo-mask, else none (the level is counted, not trained on).

A pseudo-mask is conditioned on what the study's report says about the level (severity, stated
area); a dsca_mm2 from labels.csv stands in for a stated area the report lacks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.findings import Structure
from engine.site_data.pseudo_masks import PseudoMaskConfig, PseudoMaskResult, dural_sac_pseudo_mask
from engine.site_data.validation import LabelledLevel, SiteDataReport

SITE_MASK = "site mask"
PSEUDO_MASK = "pseudo-mask"
NO_MASK = "none"


@dataclass(frozen=True, eq=False)
class LevelTarget:
    """masks: structure -> bool (rows, cols) on the level's slice (empty when source is "none");
    pseudo: the pseudo-mask outcome when one was tried."""

    level: LabelledLevel
    source: str
    masks: dict[str, np.ndarray] = field(repr=False)
    pseudo: PseudoMaskResult | None = None


def level_targets(
    report: SiteDataReport, use_pseudo_masks: bool = True, config: PseudoMaskConfig | None = None
) -> list[LevelTarget]:
    """One target per located level of a checked site folder (SiteDataReport.levels)."""
    targets = []
    for level in report.levels:
        site_study = report.study(level.study_id)
        choice = level.slice
        series_masks = site_study.series_masks(choice.series_instance_uid)
        if level.has_mask and series_masks is not None:
            masks = {
                name: found
                for name in series_masks.masks
                if (found := series_masks.mask(name, choice.sop_instance_uid)) is not None
            }
            targets.append(LevelTarget(level, SITE_MASK, masks))
            continue
        said = site_study.report.level(level.label.level) if site_study.report is not None else None
        if not use_pseudo_masks or said is None or site_study.study is None:
            targets.append(LevelTarget(level, NO_MASK, {}))
            continue
        series = site_study.study.series_by_uid(choice.series_instance_uid)
        geometry = series.slices[choice.slice_index].geometry
        assert geometry is not None
        result = dural_sac_pseudo_mask(
            series.slice_pixels(choice.slice_index),
            geometry.pixel_spacing_mm,
            choice.canal_rc,
            said.severity,
            said.stated_area_mm2 or level.label.dsca_mm2,
            config,
        )
        if result.accepted and result.mask is not None:
            targets.append(LevelTarget(level, PSEUDO_MASK, {Structure.DURAL_SAC.value: result.mask}, result))
        else:
            targets.append(LevelTarget(level, NO_MASK, {}, result))
    return targets


def tally_targets(targets: list[LevelTarget]) -> dict[str, Any]:
    """Counts per source, per grade and source, pseudo-masks tried/accepted and rejection reasons."""
    tried = [t for t in targets if t.pseudo is not None]
    return {
        "levels": len(targets),
        "per_source": dict(Counter(t.source for t in targets)),
        "per_grade_and_source": {
            g: dict(Counter(t.source for t in targets if t.level.label.grade.value == g)) for g in "ABCD"
        },
        "pseudo_masks_tried": len(tried),
        "pseudo_masks_accepted": sum(1 for t in tried if t.source == PSEUDO_MASK),
        "pseudo_mask_rejections": dict(
            Counter(
                t.pseudo.reason.value for t in tried if t.pseudo is not None and t.pseudo.reason is not None
            )
        ),
    }

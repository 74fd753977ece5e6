"""Slice-level evaluation of a model pack on a checked site-data folder, with the ONNX runtime.

For every labelled level located on an axial slice: the pack segments "dural sac at <level>" (and
"posterior epidural fat") on that slice, centred on the level's canal point; the grade head's
answer is compared with the label, the mask with the site's mask (when there is one), and the dural
sac area (corrected for obliquity with the disc normal when the level geometry is known) with the
area of the site's mask, or the label's dsca_mm2.
"""

from __future__ import annotations

import numpy as np

from engine.evaluation.overlap import dice_and_iou
from engine.evaluation.results import GRADES, GradedCase, ModelResults
from engine.evaluation.segmentation import AreaCase, SegmentationCase
from engine.findings import Structure
from engine.measurements.dural_sac import measure_dural_sac
from engine.prompt_vocabulary import prompt_for
from engine.runtime.model_pack import ModelPack
from engine.runtime.segmenter import PromptSegmenter
from engine.site_data.validation import SiteDataReport
from engine.study.model import Orientation


def evaluate_pack_on_site(pack: ModelPack, report: SiteDataReport, name: str | None = None) -> ModelResults:
    """Results of one pack on every located level of the site folder."""
    segmenter = PromptSegmenter(pack)
    segmentation: list[SegmentationCase] = []
    areas: list[AreaCase] = []
    grading: list[GradedCase] = []
    for level in report.levels:
        site_study = report.study(level.study_id)
        study = site_study.study
        assert study is not None
        choice = level.slice
        series = study.series_by_uid(choice.series_instance_uid)
        geometry = series.slices[choice.slice_index].geometry
        assert geometry is not None
        prompts = {
            Structure.DURAL_SAC.value: prompt_for(
                Structure.DURAL_SAC, Orientation.AXIAL, level.label.level
            ).text,
            Structure.POSTERIOR_EPIDURAL_FAT.value: prompt_for(
                Structure.POSTERIOR_EPIDURAL_FAT, Orientation.AXIAL, level.label.level
            ).text,
        }
        answers = segmenter.segment(
            series.slice_pixels(choice.slice_index),
            geometry.pixel_spacing_mm,
            list(prompts.values()),
            plane="axial",
            centre_rc=choice.canal_rc,
        )
        by_structure = dict(zip(prompts, answers, strict=True))
        case_id = f"{level.study_id}/{level.label.level}"
        grade = level.label.grade.value
        sac = by_structure[Structure.DURAL_SAC.value]
        probabilities = dict(sac.grade_probabilities)
        grading.append(
            GradedCase(
                case_id,
                level.study_id,
                grade,
                max(probabilities, key=lambda g: probabilities[g]),
                tuple(float(probabilities.get(g, 0.0)) for g in GRADES),
            )
        )
        masks = site_study.series_masks(choice.series_instance_uid)
        plane = site_study.disc_planes.get(level.label.level)
        canal = None if plane is None else plane.normal_lps
        predicted_sac = sac.mask_probability > 0.5
        reference_area = level.label.dsca_mm2
        if level.has_mask and masks is not None:
            for structure, answer in by_structure.items():
                if structure not in masks.masks:
                    continue  # the site did not annotate this structure
                truth = masks.mask(structure, choice.sop_instance_uid)
                reference = np.zeros(predicted_sac.shape, dtype=bool) if truth is None else truth
                dice, iou = dice_and_iou(answer.mask_probability > 0.5, reference)
                segmentation.append(
                    SegmentationCase(f"{case_id}/{structure}", level.study_id, structure, grade, dice, iou)
                )
            truth_sac = masks.mask(Structure.DURAL_SAC.value, choice.sop_instance_uid)
            if truth_sac is not None:
                reference_area = measure_dural_sac(truth_sac, geometry, canal).dural_sac_area_mm2
        if reference_area is not None:
            predicted_area = measure_dural_sac(predicted_sac, geometry, canal).dural_sac_area_mm2
            areas.append(AreaCase(case_id, level.study_id, grade, predicted_area, float(reference_area)))
    return ModelResults(
        name=name or f"{pack.name} {pack.version}",
        segmentation=tuple(segmentation),
        areas=tuple(areas),
        grading=tuple(grading),
    )

"""From a loaded study to per-level findings: `analyze_study` (and `run_analysis`, which also gives
the intermediate results and the time per stage), and `relabel_study` after a person's relabelling.

Stages: sagittal segmentation (mid-sagittal slice: vertebrae, discs, canal) -> level labelling
(discs counted up from the sacrum) -> axial assignment (each axial slice to a disc by 3D geometry,
key slice per level) -> level findings (dural sac mask, area, AP diameter, grade, explanation).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.analysis.errors import AnalysisCancelled
from engine.analysis.level_findings import LevelOutcome, analyse_level
from engine.analysis.parameters import AnalysisParameters
from engine.analysis.sagittal import (
    SagittalSegmentation,
    choose_axial_series,
    choose_sagittal_series,
    segment_mid_sagittal,
)
from engine.canal.centreline import CanalCentreline, canal_centreline_from_mask
from engine.findings import DISC_LEVELS, DiscLevel, SliceMask, Structure, StudyFindings
from engine.levels.axial_assignment import AxialSliceLevel, assign_axial_slices_to_levels, key_slices
from engine.levels.disc_detection import find_disc_candidates
from engine.levels.labelling import LevelLabelling, label_disc_levels
from engine.levels.override import override_level_labels
from engine.runtime.model_pack import ModelPack
from engine.segmentation.segmenter import StructureSegmenter, open_segmenter
from engine.study.model import Series, Study

logger = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("sagittal segmentation", "level labelling", "axial assignment", "level findings")

CancelCheck = Callable[[], bool] | threading.Event


@dataclass(frozen=True)
class AnalysisProgress:
    """One progress event: the stage, the overall fraction done (0..1) and a line for people."""

    stage: str
    fraction: float
    message: str


ProgressCallback = Callable[[AnalysisProgress], None]


@dataclass(frozen=True)
class StageTiming:
    stage: str
    seconds: float


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """The findings and what led to them (for overlays, benchmarks and relabelling)."""

    findings: StudyFindings
    sagittal: SagittalSegmentation
    labelling: LevelLabelling
    assignment: tuple[AxialSliceLevel, ...]
    key_slices: dict[str, AxialSliceLevel]
    timings: tuple[StageTiming, ...]

    @property
    def total_seconds(self) -> float:
        return sum(t.seconds for t in self.timings)


class _Run:
    """Progress, cancellation and stage timing of one analysis."""

    def __init__(self, progress: ProgressCallback | None, cancel: CancelCheck | None) -> None:
        self._progress = progress
        self._cancel = cancel
        self.timings: list[StageTiming] = []
        self._stage = ""
        self._started = 0.0

    def cancelled(self) -> bool:
        if self._cancel is None:
            return False
        return self._cancel.is_set() if isinstance(self._cancel, threading.Event) else bool(self._cancel())

    def check(self) -> None:
        if self.cancelled():
            raise AnalysisCancelled("the analysis was cancelled")

    def report(self, within_stage: float, message: str) -> None:
        if self._progress is not None:
            index = STAGES.index(self._stage)
            self._progress(AnalysisProgress(self._stage, (index + within_stage) / len(STAGES), message))

    def begin(self, stage: str, message: str) -> None:
        self.check()
        self._stage, self._started = stage, time.perf_counter()
        self.report(0.0, message)

    def end(self) -> None:
        self.timings.append(StageTiming(self._stage, time.perf_counter() - self._started))


def _as_segmenter(
    model: str | Path | ModelPack | StructureSegmenter | None, device: str
) -> StructureSegmenter:
    if model is None or isinstance(model, str | Path | ModelPack):
        return open_segmenter(model, device)
    return model


def _run_parameters(
    segmenter: StructureSegmenter, parameters: AnalysisParameters
) -> tuple[tuple[str, str], ...]:
    return (*parameters.as_provenance(), ("execution_providers", ",".join(segmenter.execution_providers())))


def _analyse_levels(
    study: Study,
    discs: Sequence[DiscLevel],
    all_discs: Sequence[DiscLevel],
    centreline: CanalCentreline | None,
    segmenter: StructureSegmenter,
    parameters: AnalysisParameters,
    run: _Run | None,
) -> tuple[tuple[AxialSliceLevel, ...], dict[str, AxialSliceLevel], list[LevelOutcome], list[str]]:
    """Axial assignment over all discs, then findings for `discs` (those with a key slice)."""
    axial = choose_axial_series(study)
    if run is not None:
        run.begin("axial assignment", f"assigning {sum(len(s) for s in axial)} axial slices to levels")
    assignment = assign_axial_slices_to_levels(axial, all_discs, centreline)
    keys = key_slices(
        assignment,
        angle_weight_mm_per_deg=parameters.angle_weight_mm_per_deg,
        max_distance_mm=parameters.max_key_slice_distance_mm,
    )
    if run is not None:
        run.end()
        run.begin("level findings", "segmenting the dural sac at each level")
    series_by_uid: dict[str, Series] = {s.series_instance_uid: s for s in axial}
    outcomes: list[LevelOutcome] = []
    warnings: list[str] = []
    run_parameters = _run_parameters(segmenter, parameters)
    for number, disc in enumerate(discs):
        if run is not None:
            run.check()
            run.report(number / max(len(discs), 1), f"{disc.label}: dural sac, area and grade")
        key = keys.get(disc.label)
        if key is None:
            warnings.append(
                f"{disc.label}: no axial T2 slice within {parameters.max_key_slice_distance_mm:g} mm of the "
                "disc; not graded"
            )
            continue
        outcomes.append(
            analyse_level(
                disc,
                key,
                series_by_uid[key.series_instance_uid],
                centreline,
                segmenter,
                parameters,
                run_parameters,
            )
        )
    if run is not None:
        run.end()
    return assignment, keys, outcomes, warnings


def run_analysis(
    study: Study,
    segmenter: StructureSegmenter,
    *,
    parameters: AnalysisParameters | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> AnalysisResult:
    """Analyse a study with `segmenter` (see the module docstring).

    Raises MissingSeriesError (no sagittal or axial T2), LevelsNotFoundError (discs not found or
    not labelled), AnalysisCancelled (cancel returned True / was set).
    """
    parameters = parameters or AnalysisParameters()
    run = _Run(progress, cancel)
    sagittal_series, series_warnings = choose_sagittal_series(study)
    choose_axial_series(study)  # fail before any model work when the axial series is missing

    run.begin("sagittal segmentation", "segmenting the mid-sagittal slice")
    sagittal = segment_mid_sagittal(sagittal_series, segmenter, parameters)
    run.end()

    run.begin("level labelling", "finding and labelling the discs")
    threshold = parameters.mask_threshold
    candidates = find_disc_candidates(
        sagittal.probabilities[Structure.INTERVERTEBRAL_DISC.value],
        sagittal.geometry,
        threshold=threshold,
        vertebra_probability=sagittal.probabilities[Structure.VERTEBRA.value],
    )
    source = sagittal.series.slices[sagittal.slice_index]
    labelling = label_disc_levels(
        candidates,
        sagittal.probabilities[Structure.VERTEBRA.value],
        sagittal.geometry,
        sagittal_series_uid=sagittal.series.series_instance_uid,
        sagittal_sop_instance_uid=source.sop_instance_uid,
        centreline=sagittal.centreline,
        threshold=threshold,
    )
    lumbar, others = labelling.disc_levels()
    run.end()

    assignment, keys, outcomes, level_warnings = _analyse_levels(
        study, lumbar, (*lumbar, *others), sagittal.centreline, segmenter, parameters, run
    )
    warnings = [*series_warnings, *labelling.warnings, *level_warnings]
    if sagittal.centreline is None:
        warnings.append(
            "the spinal canal was not found on the sagittal series; canal positions are estimated"
        )
    findings = StudyFindings(
        study_instance_uid=study.study_instance_uid,
        levels=lumbar,
        findings=tuple(o.finding for o in outcomes),
        masks=(*sagittal.masks(segmenter, threshold), *(o.mask for o in outcomes if o.mask is not None)),
        explanations=tuple(o.explanation for o in outcomes),
        warnings=tuple(warnings),
        provenance=segmenter.provenance(_run_parameters(segmenter, parameters)),
        other_discs=others,
        load_report=study.load_report,
    )
    for line in warnings:
        logger.info("analysis: %s", line)
    return AnalysisResult(findings, sagittal, labelling, assignment, keys, tuple(run.timings))


def analyze_study(
    study: Study,
    *,
    model: str | Path | ModelPack | StructureSegmenter | None = None,
    device: str = "auto",
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    parameters: AnalysisParameters | None = None,
) -> StudyFindings:
    """Per-level findings of a study.

    model: a model pack folder, a pack name, a ModelPack, any StructureSegmenter, or None for the
    bundled default pack. device: 'auto', 'cpu' or 'cuda' (for model packs).
    Raises ModelPackError, MissingSeriesError, LevelsNotFoundError, AnalysisCancelled.
    """
    segmenter = _as_segmenter(model, device)
    return run_analysis(study, segmenter, parameters=parameters, progress=progress, cancel=cancel).findings


def _sagittal_centreline(study: Study, findings: StudyFindings, threshold: float) -> CanalCentreline | None:
    """The canal centreline rebuilt from the stored sagittal canal mask."""
    for mask in findings.masks:
        if mask.structure != Structure.SPINAL_CANAL.value:
            continue
        try:
            series = study.series_by_uid(mask.series_instance_uid)
            geometry = series.slices[
                series.slice_index_by_uid(mask.sop_instance_uid, mask.frame_index)
            ].geometry
        except KeyError:
            continue
        if geometry is not None:
            return canal_centreline_from_mask(
                np.asarray(mask.mask, dtype=np.float32), geometry, threshold=threshold
            )
    return None


def relabel_study(
    study: Study,
    findings: StudyFindings,
    mapping: Mapping[str, str],
    *,
    model: str | Path | ModelPack | StructureSegmenter | None = None,
    device: str = "auto",
    parameters: AnalysisParameters | None = None,
) -> StudyFindings:
    """Apply a person's level relabelling {old: new} and re-derive what depends on the labels: the
    findings move with their discs, and levels whose prompt named the old label, or lumbar levels
    that had no finding (e.g. a former T12-L1 now L1-L2), are segmented and graded again.

    Raises LevelLabelError for an impossible relabelling; ModelPackError, MissingSeriesError.
    """
    parameters = parameters or AnalysisParameters()
    relabelled = override_level_labels(findings, mapping)
    if relabelled is findings:
        return findings
    with_finding = {f.level for f in relabelled.findings}
    changed = {mapping[d] for d in mapping if mapping[d] != d}
    redo = [
        d
        for d in relabelled.levels
        if d.label in DISC_LEVELS
        and (d.label not in with_finding or (d.label in changed and parameters.level_words_in_prompt))
    ]
    if not redo:
        return relabelled
    segmenter = _as_segmenter(model, device)
    centreline = _sagittal_centreline(study, findings, parameters.mask_threshold)
    all_discs = (*relabelled.levels, *relabelled.other_discs)
    _, _, outcomes, warnings = _analyse_levels(
        study, redo, all_discs, centreline, segmenter, parameters, None
    )
    redone = {d.label for d in redo}
    old_keys = {
        (f.key_slice_sop_instance_uid, f.key_slice_frame_index)
        for f in relabelled.findings
        if f.level in redone
    }

    def kept(masks: tuple[SliceMask, ...]) -> tuple[SliceMask, ...]:
        return tuple(
            m
            for m in masks
            if not (
                m.structure == Structure.DURAL_SAC.value and (m.sop_instance_uid, m.frame_index) in old_keys
            )
        )

    logger.info("relabelled analysis: re-analysed %s", ", ".join(sorted(o.finding.level for o in outcomes)))
    return replace(
        relabelled,
        findings=tuple(
            sorted(
                (*(f for f in relabelled.findings if f.level not in redone), *(o.finding for o in outcomes)),
                key=lambda f: _level_order(f.level, relabelled.levels),
            )
        ),
        masks=(*kept(relabelled.masks), *(o.mask for o in outcomes if o.mask is not None)),
        explanations=(*kept(relabelled.explanations), *(o.explanation for o in outcomes)),
        warnings=(*relabelled.warnings, *warnings),
    )


def _level_order(label: str, levels: tuple[DiscLevel, ...]) -> int:
    for index, disc in enumerate(levels):
        if disc.label == label:
            return index
    return len(levels)

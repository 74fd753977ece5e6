"""Prompt samples of a site-data folder: each labelled level located on an axial slice, with the
site's mask or an accepted pseudo-mask as the target; the folder is refused while it has blocking
problems (`lss data check` lists the same ones)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.findings import SchizasGrade, Structure
from engine.prompt_vocabulary import prompt_for
from engine.site_data.level_targets import NO_MASK, LevelTarget, level_targets, tally_targets
from engine.site_data.problems import SiteProblem
from engine.site_data.validation import validate_site_folder
from engine.study.model import Orientation
from training.data.samples import PromptSample, SliceSource, mask_centroid

GRADE_ORDER: tuple[str, ...] = tuple(g.value for g in SchizasGrade)
# Label values of the target label map a site slice reader returns.
TARGET_LABELS: dict[str, int] = {Structure.DURAL_SAC.value: 1, Structure.POSTERIOR_EPIDURAL_FAT.value: 2}


class SiteDataError(ValueError):
    """A site-data folder has blocking problems; the message lists each one."""

    def __init__(self, root: Path, problems: tuple[SiteProblem, ...]) -> None:
        self.root = root
        self.problems = problems
        lines = "\n".join(f"  {p.text()}" for p in problems)
        super().__init__(
            f"site-data folder {root} has {len(problems)} blocking problem(s); fix them "
            f"(`lss data check {root}` lists every problem):\n{lines}"
        )


@dataclass(frozen=True)
class SiteSliceReader:
    """One DICOM image (frame) of a site study and the target masks on it (picklable)."""

    path: Path
    frame_index: int | None
    rescale_slope: float
    rescale_intercept: float
    targets: dict[str, np.ndarray] = field(repr=False)

    def pixels(self) -> np.ndarray:
        import pydicom

        array = pydicom.dcmread(str(self.path)).pixel_array
        if self.frame_index is not None:
            array = array[self.frame_index]
        return array.astype(np.float32) * self.rescale_slope + self.rescale_intercept

    def labels(self) -> np.ndarray:
        shape = next(iter(self.targets.values())).shape
        labels = np.zeros(shape, dtype=np.uint8)
        for structure, value in TARGET_LABELS.items():
            if structure in self.targets:
                labels[self.targets[structure]] = value
        return labels


def _samples_of(target: LevelTarget, study_folder: Path, study: Any) -> list[PromptSample]:
    choice = target.level.slice
    series = study.series_by_uid(choice.series_instance_uid)
    image = series.slices[choice.slice_index]
    geometry = image.geometry
    reader = SiteSliceReader(
        Path(image.source_path), image.frame_index, image.rescale_slope, image.rescale_intercept, target.masks
    )
    group = f"site-{study_folder.parent.parent.name}-{target.level.study_id}"
    source = SliceSource(f"{group}-{image.key}", group, "axial", geometry.pixel_spacing_mm, reader)
    centre = mask_centroid(target.masks[Structure.DURAL_SAC.value])
    level = target.level.label.level
    samples = [
        PromptSample(
            source,
            prompt_for(Structure.DURAL_SAC, Orientation.AXIAL, level),
            (TARGET_LABELS[Structure.DURAL_SAC.value],),
            GRADE_ORDER.index(target.level.label.grade.value),
            centre,
        )
    ]
    if Structure.POSTERIOR_EPIDURAL_FAT.value in target.masks:
        samples.append(
            PromptSample(
                source,
                prompt_for(Structure.POSTERIOR_EPIDURAL_FAT, Orientation.AXIAL, level),
                (TARGET_LABELS[Structure.POSTERIOR_EPIDURAL_FAT.value],),
                -1,
                centre,
            )
        )
    return samples


def site_samples(root: Path, use_pseudo_masks: bool = True) -> tuple[list[PromptSample], dict[str, Any]]:
    """Samples of a site folder and the tally of their targets (site masks, pseudo-masks accepted and
    rejected with reasons, levels left without a target). Raises SiteDataError on blocking problems."""
    report = validate_site_folder(root)
    if not report.usable:
        raise SiteDataError(root, report.blocking_problems)
    targets = level_targets(report, use_pseudo_masks)
    samples: list[PromptSample] = []
    for target in targets:
        if target.source == NO_MASK or Structure.DURAL_SAC.value not in target.masks:
            continue
        site_study = report.study(target.level.study_id)
        samples += _samples_of(target, site_study.folder, site_study.study)
    return samples, {**tally_targets(targets), "summary": report.summary()}

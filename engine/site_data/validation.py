"""`lss data check DIR`: every problem of a site-data folder, per file, and what it holds per grade.

Checks (training/site_data/FORMAT.md): labels.csv present and well formed (known study, disc level,
Schizas grade; no conflicting duplicates); every study folder readable as one DICOM study with an
axial series (unreadable files are named); no study twice; every labelled level located on an
axial slice (from key_sop_instance_uid or levels/<study>.json) and covered by the study; masks
matching their series' geometry; reports that contradict a label. Blocking problems make training
refuse the folder; warnings name what is skipped.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.findings import Structure
from engine.site_data.labels import SiteLabel, read_labels
from engine.site_data.layout import (
    LABELS_FILE,
    NIFTI_SUFFIXES,
    STUDIES_DIR,
    SiteConfig,
    levels_file,
    mask_files,
    read_site_config,
    report_file,
    study_folders,
)
from engine.site_data.level_geometry import AxialSliceChoice, DiscPlane, choose_axial_slice, read_disc_planes
from engine.site_data.masks import SeriesMasks, read_nifti_mask, read_seg_mask
from engine.site_data.problems import ProblemCode, ProblemSeverity, SiteProblem, blocking, warning
from engine.site_data.report_parser import ParsedReport, parse_report
from engine.site_data.severity import grade_for_severity
from engine.study.model import Orientation, Study

logger = logging.getLogger(__name__)

# Called with (studies done, studies in total).
CheckProgress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class SiteStudy:
    """One study folder: its id (the folder name), the loaded study (None when unreadable), disc
    planes from levels/<id>.json, masks that passed their checks, and the parsed report."""

    study_id: str
    folder: Path
    study: Study | None = field(repr=False)
    disc_planes: dict[str, DiscPlane] = field(default_factory=dict)
    masks: tuple[SeriesMasks, ...] = ()
    report: ParsedReport | None = None

    def series_masks(self, series_instance_uid: str) -> SeriesMasks | None:
        return next((m for m in self.masks if m.series_instance_uid == series_instance_uid), None)


@dataclass(frozen=True)
class LabelledLevel:
    """A label that resolved to a study and an axial slice: usable for training."""

    label: SiteLabel
    study_id: str
    slice: AxialSliceChoice
    has_mask: bool  # a site mask of the dural sac exists on that slice


@dataclass(frozen=True, eq=False)
class SiteDataReport:
    """The outcome of a check: studies, usable labelled levels, and every problem found."""

    root: Path
    config: SiteConfig
    studies: tuple[SiteStudy, ...]
    levels: tuple[LabelledLevel, ...]
    labels: tuple[SiteLabel, ...]
    problems: tuple[SiteProblem, ...]

    @property
    def blocking_problems(self) -> tuple[SiteProblem, ...]:
        return tuple(p for p in self.problems if p.severity is ProblemSeverity.BLOCKING)

    @property
    def usable(self) -> bool:
        return not self.blocking_problems

    def study(self, study_id: str) -> SiteStudy:
        return next(s for s in self.studies if s.study_id == study_id)

    def summary(self) -> dict[str, Any]:
        """Counts per grade (all labels, and labels located on an axial slice), studies, masks, reports."""
        grades = Counter(label.grade.value for label in self.labels)
        located = Counter(level.label.grade.value for level in self.levels)
        return {
            "root": str(self.root),
            "studies": len(self.studies),
            "studies_readable": sum(1 for s in self.studies if s.study is not None),
            "studies_with_masks": sum(1 for s in self.studies if s.masks),
            "studies_with_reports": sum(1 for s in self.studies if s.report is not None),
            "labels": len(self.labels),
            "labels_per_grade": {g: grades.get(g, 0) for g in "ABCD"},
            "located_levels_per_grade": {g: located.get(g, 0) for g in "ABCD"},
            "located_levels_with_masks": sum(1 for level in self.levels if level.has_mask),
            "blocking_problems": len(self.blocking_problems),
            "warnings": len(self.problems) - len(self.blocking_problems),
            "problems_per_code": dict(Counter(p.code.value for p in self.problems)),
        }


def _load_study(folder: Path, root: Path, problems: list[SiteProblem]) -> Study | None:
    from engine.study import NoDicomFoundError, load_study
    from engine.study.model import IssueSeverity

    relative = str(folder.relative_to(root))
    try:
        study = load_study(folder)
    except NoDicomFoundError as exc:
        problems.append(
            blocking(relative, ProblemCode.UNREADABLE_DICOM, str(exc).replace(str(root) + "/", ""))
        )
        return None
    for issue in study.load_report.issues:
        where = str(Path(issue.path).relative_to(root)) if issue.path.startswith(str(root)) else relative
        if "folder also holds study" in issue.reason:
            problems.append(blocking(where, ProblemCode.SEVERAL_STUDIES, issue.reason))
        elif issue.severity is IssueSeverity.SKIPPED:
            problems.append(warning(where, ProblemCode.UNREADABLE_DICOM, f"skipped: {issue.reason}"))
    if not study.find_series(Orientation.AXIAL):
        problems.append(
            warning(relative, ProblemCode.NO_AXIAL_SERIES, "no axial series: its levels cannot be used")
        )
    return study


def _read_masks(
    root: Path, study_id: str, study: Study, config: SiteConfig, problems: list[SiteProblem]
) -> list[SeriesMasks]:
    found = []
    for path in mask_files(root, study_id):
        relative = str(path.relative_to(root))
        if path.name.endswith(NIFTI_SUFFIXES):
            masks, issues = read_nifti_mask(path, relative, study, config)
        else:
            masks, issues = read_seg_mask(path, relative, study)
        problems.extend(issues)
        if masks is not None:
            found.append(masks)
    return found


def _locate(
    label: SiteLabel, site_study: SiteStudy, where: str, problems: list[SiteProblem]
) -> AxialSliceChoice | None:
    study = site_study.study
    assert study is not None
    if label.key_sop_instance_uid:
        for series in study.find_series(Orientation.AXIAL):
            for index, image in enumerate(series.slices):
                if image.sop_instance_uid == label.key_sop_instance_uid:
                    rows, cols = series.matrix or (0, 0)
                    plane = site_study.disc_planes.get(label.level)
                    canal = (
                        image.geometry.lps_to_pixel(plane.canal_point_lps())[:2]
                        if plane is not None and image.geometry is not None
                        else ((rows - 1) / 2.0, (cols - 1) / 2.0)
                    )
                    return AxialSliceChoice(
                        label.level,
                        series.series_instance_uid,
                        index,
                        image.sop_instance_uid,
                        image.frame_index,
                        0.0,
                        (float(canal[0]), float(canal[1])),
                    )
        problems.append(
            blocking(
                where,
                ProblemCode.LEVEL_NOT_COVERED,
                f"key_sop_instance_uid {label.key_sop_instance_uid} is no axial image of study {site_study.study_id}",
            )
        )
        return None
    plane = site_study.disc_planes.get(label.level)
    if plane is None:
        hint = (
            "its levels file does not locate it"
            if site_study.disc_planes
            else "give key_sop_instance_uid or levels/<study>.json"
        )
        problems.append(
            blocking(
                where,
                ProblemCode.NO_LEVEL_GEOMETRY,
                f"cannot tell which axial slice shows {label.level} of study {site_study.study_id}: {hint}",
            )
        )
        return None
    choice = choose_axial_slice(study.series, plane)
    if choice is None:
        problems.append(
            blocking(
                where,
                ProblemCode.LEVEL_NOT_COVERED,
                f"study {site_study.study_id} has no axial slice through {label.level}",
            )
        )
    return choice


def validate_site_folder(
    root: Path, progress: CheckProgress | None = None, cancel: threading.Event | None = None
) -> SiteDataReport:
    """Check a site-data folder (see the module docstring); never raises for bad content."""
    root = Path(root)
    problems: list[SiteProblem] = []
    try:
        config = read_site_config(root)
    except ValueError as exc:
        problems.append(blocking("site.json", ProblemCode.MALFORMED_FILE, str(exc)))
        config = SiteConfig()
    labels: list[SiteLabel] = []
    labels_path = root / LABELS_FILE
    if not labels_path.is_file():
        problems.append(blocking(LABELS_FILE, ProblemCode.MISSING_FILE, "labels.csv is missing"))
    else:
        try:
            labels, label_problems = read_labels(labels_path.read_text(encoding="utf-8-sig"), LABELS_FILE)
            problems += label_problems
        except UnicodeDecodeError as exc:
            problems.append(blocking(LABELS_FILE, ProblemCode.MALFORMED_FILE, f"not UTF-8 text ({exc})"))
    folders = study_folders(root)
    if not folders:
        problems.append(blocking(STUDIES_DIR, ProblemCode.MISSING_FILE, "no study folder under studies/"))
    studies: list[SiteStudy] = []
    by_uid: dict[str, str] = {}
    for done, folder in enumerate(folders, start=1):
        if cancel is not None and cancel.is_set():
            break
        study_id = folder.name
        study = _load_study(folder, root, problems)
        planes: dict[str, DiscPlane] = {}
        masks: list[SeriesMasks] = []
        report = None
        if study is not None:
            uid = study.study_instance_uid
            if uid in by_uid:
                problems.append(
                    blocking(
                        str(folder.relative_to(root)),
                        ProblemCode.DUPLICATE_STUDY,
                        f"same StudyInstanceUID as studies/{by_uid[uid]}",
                    )
                )
            by_uid.setdefault(uid, study_id)
            masks = _read_masks(root, study_id, study, config, problems)
        if levels_file(root, study_id).is_file():
            try:
                planes = read_disc_planes(levels_file(root, study_id))
            except ValueError as exc:
                problems.append(
                    blocking(
                        str(levels_file(root, study_id).relative_to(root)),
                        ProblemCode.MALFORMED_FILE,
                        str(exc),
                    )
                )
        if report_file(root, study_id).is_file():
            report = parse_report(report_file(root, study_id).read_text(encoding="utf-8", errors="replace"))
        studies.append(SiteStudy(study_id, folder, study, planes, tuple(masks), report))
        if progress is not None:
            progress(done, len(folders))
    levels = _resolve_labels(labels, studies, by_uid, problems)
    for study_id in sorted(
        {s.study_id for s in studies} - {lv.study_id for lv in levels} - _labelled_ids(labels, by_uid)
    ):
        problems.append(
            warning(
                f"{STUDIES_DIR}/{study_id}",
                ProblemCode.UNLABELLED_STUDY,
                "no label in labels.csv names this study",
            )
        )
    return SiteDataReport(root, config, tuple(studies), tuple(levels), tuple(labels), tuple(problems))


def _labelled_ids(labels: list[SiteLabel], by_uid: dict[str, str]) -> set[str]:
    return {by_uid.get(label.study, label.study) for label in labels}


def _resolve_labels(
    labels: list[SiteLabel], studies: list[SiteStudy], by_uid: dict[str, str], problems: list[SiteProblem]
) -> list[LabelledLevel]:
    by_id = {s.study_id: s for s in studies}
    levels = []
    for label in labels:
        where = f"{LABELS_FILE}:{label.line}"
        site_study = by_id.get(by_uid.get(label.study, label.study))
        if site_study is None:
            problems.append(
                blocking(
                    where,
                    ProblemCode.UNKNOWN_STUDY,
                    f"study {label.study!r} is neither a folder under studies/ nor a StudyInstanceUID found there",
                )
            )
            continue
        if site_study.study is None or not site_study.study.find_series(Orientation.AXIAL):
            problems.append(
                blocking(
                    where,
                    ProblemCode.LEVEL_NOT_COVERED,
                    f"study {site_study.study_id} has no readable axial series",
                )
            )
            continue
        choice = _locate(label, site_study, where, problems)
        if choice is None:
            continue
        masks = site_study.series_masks(choice.series_instance_uid)
        has_mask = (
            masks is not None and masks.mask(Structure.DURAL_SAC.value, choice.sop_instance_uid) is not None
        )
        _check_report(label, site_study, where, problems)
        levels.append(LabelledLevel(label, site_study.study_id, choice, has_mask))
    return levels


def _check_report(label: SiteLabel, site_study: SiteStudy, where: str, problems: list[SiteProblem]) -> None:
    if site_study.report is None:
        return
    said = site_study.report.level(label.level)
    if said is None or said.severity is None:
        return
    grade = said.explicit_grade or grade_for_severity(said.severity)
    if grade is not None and grade != label.grade and {grade.value, label.grade.value} != {"C", "D"}:
        problems.append(
            warning(
                where,
                ProblemCode.REPORT_DISAGREES,
                f"report of {site_study.study_id} says {said.severity.value} at {label.level} "
                f"(grade {grade.value}); the label says {label.grade.value}",
            )
        )

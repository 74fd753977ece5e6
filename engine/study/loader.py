"""Public entry points: `load_study` (folder or file -> Study) and `list_studies`.

Pipeline: discovery (walk / DICOMDIR) -> parallel header scan -> group by study -> pick one
study -> remove duplicate SOP instances -> assemble series -> lazy pixel store.

Cancellation: when `cancel` is set, the scan stops starting new files and `load_study` returns
what was read so far, assembled as usual, with `load_report.cancelled=True` (possibly a study
without series). NoDicomFoundError is raised only after a complete scan that found no DICOM
image.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from engine.study.assemble import (
    assemble_study,
    count_mr_images,
    remove_duplicate_instances,
)
from engine.study.discovery import find_candidate_files
from engine.study.errors import NoDicomFoundError, StudyNotFoundError
from engine.study.header import InstanceHeader
from engine.study.model import IssueSeverity, LoadIssue, LoadReport, PatientInfo, Series, Study
from engine.study.pixels import DEFAULT_CACHE_BYTES, SlicePixelStore
from engine.study.scan import ProgressCallback, ScanResult, scan_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudySummary:
    """One study found in a folder; no patient data (safe to log and to list)."""

    study_instance_uid: str
    study_date: str  # DICOM DA
    description: str
    mr_image_count: int  # files that are MR slices to read
    series_count: int
    file_count: int
    modalities: tuple[str, ...]


def list_studies(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    max_workers: int | None = None,
) -> list[StudySummary]:
    """Studies in a folder (or file), the one with the most MR images first.

    Raises NoDicomFoundError when no DICOM image is there.
    """
    root = Path(path)
    scan = _scan(root, progress, cancel, max_workers)
    if not _has_images(scan) and not scan.cancelled:
        raise NoDicomFoundError(str(root), _nothing_found_detail(scan))
    return _summaries(_group_by_study(scan.headers))


def load_study(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    study_instance_uid: str | None = None,
    max_workers: int | None = None,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> Study:
    """Load one MR study from a folder (recursive, DICOMDIR-aware) or a single file.

    path: folder or file. progress(done, total): called on this thread once per file read.
    cancel: set it to stop early (see the module docstring). study_instance_uid: which study to
    load when the folder holds several; by default the one with the most MR images (the others
    are named in the load report). max_workers: header-reading threads. cache_bytes: bound of the
    decoded-slice cache shared by the study's series.

    Raises NoDicomFoundError (no readable DICOM image at all), StudyNotFoundError (unknown
    study_instance_uid).
    """
    root = Path(path)
    scan = _scan(root, progress, cancel, max_workers)
    by_study = _group_by_study(scan.headers)
    issues: list[LoadIssue] = list(scan.issues)
    if not _has_images(scan) and not scan.cancelled:
        raise NoDicomFoundError(str(root), _nothing_found_detail(scan))
    summaries = _summaries(by_study)
    chosen = _choose_study(summaries, study_instance_uid)
    if chosen is None:
        return _empty_study(root, scan, issues)
    headers, duplicates = remove_duplicate_instances(by_study[chosen.study_instance_uid])
    issues.extend(duplicates)
    assembled = assemble_study(headers)
    issues.extend(assembled.issues)
    for other in summaries:
        if other is not chosen:
            issues.append(
                LoadIssue(
                    str(root),
                    f"folder also holds study {other.study_instance_uid} ('{other.description}', "
                    f"{other.mr_image_count} MR images, {other.file_count} files), not loaded; "
                    "load it by its StudyInstanceUID",
                    IssueSeverity.WARNING,
                )
            )
    store = SlicePixelStore({k: v for s in assembled.series for k, v in s.sources.items()}, cache_bytes)
    series = tuple(
        Series(
            series_instance_uid=a.series_instance_uid,
            study_instance_uid=a.study_instance_uid,
            series_number=a.series_number,
            description=a.description,
            modality=a.modality,
            orientation=a.orientation,
            sequence=a.sequence,
            slices=a.slices,
            pixel_loader=store,
            manufacturer=a.manufacturer,
            echo_time_ms=a.echo_time_ms,
            repetition_time_ms=a.repetition_time_ms,
            split_part=a.split_part,
        )
        for a in assembled.series
    )
    first = _representative(headers)
    logger.info(
        "loaded study %s: %d series, %d set aside, %d report lines%s",
        chosen.study_instance_uid,
        len(series),
        len(assembled.set_aside),
        len(issues),
        " (cancelled)" if scan.cancelled else "",
    )
    return Study(
        study_instance_uid=chosen.study_instance_uid,
        study_date=first.study_date,
        description=first.study_description,
        accession_number=first.accession_number,
        patient=first.patient,
        series=series,
        set_aside=assembled.set_aside,
        load_report=LoadReport(
            files_found=scan.files_total,
            files_loaded=assembled.files_loaded,
            issues=tuple(issues),
            cancelled=scan.cancelled,
        ),
        root=root,
    )


def _scan(
    root: Path, progress: ProgressCallback | None, cancel: threading.Event | None, max_workers: int | None
) -> ScanResult:
    if not root.exists():
        raise NoDicomFoundError(str(root), "the path does not exist")
    candidates = find_candidate_files(root)
    scan = scan_files(candidates.files, progress=progress, cancel=cancel, max_workers=max_workers)
    return ScanResult(
        scan.headers, candidates.issues + scan.issues, scan.files_total, scan.files_scanned, scan.cancelled
    )


def _has_images(scan: ScanResult) -> bool:
    return any(h.pixels is not None for h in scan.headers)


def _group_by_study(headers: tuple[InstanceHeader, ...]) -> dict[str, list[InstanceHeader]]:
    by_study: dict[str, list[InstanceHeader]] = defaultdict(list)
    for h in headers:
        by_study[h.study_instance_uid].append(h)
    return dict(by_study)


def _summaries(by_study: dict[str, list[InstanceHeader]]) -> list[StudySummary]:
    summaries = []
    for uid, headers in by_study.items():
        first = _representative(headers)
        summaries.append(
            StudySummary(
                study_instance_uid=uid,
                study_date=first.study_date,
                description=first.study_description,
                mr_image_count=count_mr_images(headers),
                series_count=len({h.series_instance_uid for h in headers}),
                file_count=len(headers),
                modalities=tuple(sorted({h.modality for h in headers if h.modality})),
            )
        )
    summaries.sort(key=lambda s: (-s.mr_image_count, -s.file_count, s.study_date, s.study_instance_uid))
    return summaries


def _choose_study(summaries: list[StudySummary], study_instance_uid: str | None) -> StudySummary | None:
    if study_instance_uid is None:
        return summaries[0] if summaries else None
    for s in summaries:
        if s.study_instance_uid == study_instance_uid:
            return s
    available = ", ".join(s.study_instance_uid for s in summaries) or "none"
    raise StudyNotFoundError(f"study {study_instance_uid} is not in the folder (studies found: {available})")


def _representative(headers: list[InstanceHeader]) -> InstanceHeader:
    """An MR image header when there is one (its study-level tags are the ones to show)."""
    return next((h for h in headers if h.modality == "MR" and h.pixels is not None), headers[0])


def _nothing_found_detail(scan: ScanResult) -> str:
    if not scan.headers and not scan.issues:
        return "no files"
    reasons = Counter(_reason_kind(i.reason) for i in scan.issues)
    parts = [f"{n} {kind}" for kind, n in reasons.most_common()]
    if scan.headers:
        modalities = Counter(h.modality or "unknown" for h in scan.headers)
        parts.append("DICOM without images: " + ", ".join(f"{n} {m}" for m, n in modalities.most_common()))
    return "; ".join(parts)


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0]


def _empty_study(root: Path, scan: ScanResult, issues: list[LoadIssue]) -> Study:
    """What a load cancelled before any DICOM header was read returns."""
    return Study(
        study_instance_uid="",
        study_date="",
        description="",
        accession_number="",
        patient=PatientInfo(),
        series=(),
        set_aside=(),
        load_report=LoadReport(
            files_found=scan.files_total, files_loaded=0, issues=tuple(issues), cancelled=True
        ),
        root=root,
    )

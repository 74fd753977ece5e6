"""Headers of one study -> sorted, checked MR series (+ set-aside series and load-report lines).

Per DICOM series:
- Instances that are not MR slices are set aside (classify.set_aside_reason); localizer series
  by description, and tiny series (<= `LOCALIZER_MAX_SLICES`) whose slices lie in more than one
  plane (3-plane scouts) are set aside whole.
- Slices are grouped by stack: matrix, pixel spacing (0.01 mm), plane and echo time (1 ms).
  Groups of at least `MIN_STACK_SLICES` become separate series (`split_part` 1, 2, ...; the
  largest first), because a series that mixes stacks is usually two acquisitions filed under one
  number (dual echo, re-scans). Smaller groups next to a bigger stack are stray images (a
  reformat or screen save filed into the series): they are dropped, one report line each.
  A radiologist then still sees every real stack, and no stack holds an odd slice.
- Slices are sorted by the position of their centre along the stack's mean normal, oriented so
  that the normal's dominant LPS component is positive (sagittal: right to left, coronal:
  anterior to posterior, axial: feet to head). For parallel stacks this is the position along
  the slice normal; for angled per-disc axial stacks it orders the small stacks along the spine
  while every slice keeps its own geometry. Ties keep InstanceNumber order.
- When a slice has no usable geometry, the whole series falls back to InstanceNumber order
  (then frame number), with a warning: positions cannot be compared.
- Parallel stacks are checked for slices sharing one position and for gaps wider than 1.5x the
  typical spacing (a missing slice); both give warnings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from engine.study.classify import (
    classify_sequence,
    localizer_description,
    nearest_plane,
    orientation_of,
    set_aside_reason,
)
from engine.study.header import FrameHeader, InstanceHeader
from engine.study.model import (
    ImageSlice,
    IssueSeverity,
    LoadIssue,
    Orientation,
    Sequence,
    SetAsideSeries,
)
from engine.study.pixels import PixelSource

MIN_STACK_SLICES = 3
LOCALIZER_MAX_SLICES = 30
_SAME_POSITION_MM = 0.01
_GAP_FACTOR = 1.5


@dataclass(frozen=True)
class AssembledSeries:
    """Everything of a `Series` except its pixel loader (built once for the whole study)."""

    series_instance_uid: str
    study_instance_uid: str
    series_number: int | None
    description: str
    modality: str
    orientation: Orientation
    sequence: Sequence
    slices: tuple[ImageSlice, ...]
    sources: dict[str, PixelSource]
    manufacturer: str
    echo_time_ms: float | None
    repetition_time_ms: float | None
    split_part: int | None


@dataclass(frozen=True)
class AssembledStudy:
    series: tuple[AssembledSeries, ...]
    set_aside: tuple[SetAsideSeries, ...]
    issues: tuple[LoadIssue, ...]
    files_loaded: int


@dataclass(frozen=True)
class _Candidate:
    header: InstanceHeader
    frame: FrameHeader
    normal: np.ndarray | None  # unit slice normal (3,), LPS; None without geometry
    centre: np.ndarray | None  # image centre (3,), LPS mm

    @staticmethod
    def of(header: InstanceHeader, frame: FrameHeader) -> _Candidate:
        g = frame.geometry
        return _Candidate(header, frame, None if g is None else g.normal, None if g is None else g.centre_lps)

    @property
    def image(self) -> ImageSlice:
        f = self.frame
        return ImageSlice(
            sop_instance_uid=self.header.sop_instance_uid,
            source_path=self.header.path,
            frame_index=f.frame_index,
            instance_number=self.header.instance_number,
            geometry=f.geometry,
            rescale_slope=f.rescale_slope,
            rescale_intercept=f.rescale_intercept,
            window_centre=f.window_centre,
            window_width=f.window_width,
        )

    @property
    def file_order(self) -> tuple[bool, int, int, int, str]:
        """InstanceNumber order (missing last), then frame, then in-stack position, then path."""
        n = self.header.instance_number
        return (
            n is None,
            n or 0,
            self.frame.frame_index or 0,
            self.frame.in_stack_position or 0,
            str(self.header.path),
        )

    @property
    def where(self) -> str:
        path = str(self.header.path)
        return path if self.frame.frame_index is None else f"{path} (frame {self.frame.frame_index + 1})"


def remove_duplicate_instances(headers: list[InstanceHeader]) -> tuple[list[InstanceHeader], list[LoadIssue]]:
    """Keep the first file of each SOPInstanceUID (input order); one SKIPPED line per duplicate."""
    first: dict[str, InstanceHeader] = {}
    issues = []
    for h in headers:
        kept = first.setdefault(h.sop_instance_uid, h)
        if kept is not h:
            issues.append(
                LoadIssue(
                    str(h.path),
                    f"duplicate SOPInstanceUID (same as {kept.path.name}); the first file is kept",
                    IssueSeverity.SKIPPED,
                )
            )
    return list(first.values()), issues


def count_mr_images(headers: list[InstanceHeader]) -> int:
    """Files that are MR slices to read (what picks the study of a multi-study folder).

    Counts each SOP instance once; localizers (by ImageType or description) do not count.
    """
    return len(
        {
            h.sop_instance_uid
            for h in headers
            if h.pixels is not None
            and set_aside_reason(h) is None
            and not localizer_description(h.series_description)
        }
    )


def assemble_study(headers: list[InstanceHeader]) -> AssembledStudy:
    """Series of one study from its (deduplicated) headers."""
    by_series: dict[str, list[InstanceHeader]] = defaultdict(list)
    for h in headers:
        by_series[h.series_instance_uid].append(h)
    series: list[AssembledSeries] = []
    set_aside: list[SetAsideSeries] = []
    issues: list[LoadIssue] = []
    for members in by_series.values():
        _assemble_series(members, series, set_aside, issues)
    series.sort(
        key=lambda s: (s.series_number is None, s.series_number or 0, s.description, s.split_part or 0)
    )
    set_aside.sort(key=lambda s: s.description)
    loaded = {s.source_path for a in series for s in a.slices}
    return AssembledStudy(tuple(series), tuple(set_aside), tuple(issues), len(loaded))


def _series_label(h: InstanceHeader) -> str:
    number = "?" if h.series_number is None else str(h.series_number)
    return f"series {number} '{h.series_description}'"


def _assemble_series(
    members: list[InstanceHeader],
    out: list[AssembledSeries],
    set_aside: list[SetAsideSeries],
    issues: list[LoadIssue],
) -> None:
    first = members[0]
    label = _series_label(first)
    accepted: list[InstanceHeader] = []
    reasons: list[tuple[InstanceHeader, str]] = []
    for h in members:
        reason = set_aside_reason(h)
        if reason is not None:
            reasons.append((h, reason))
        elif h.pixels is None:
            issues.append(LoadIssue(str(h.path), "no pixel data", IssueSeverity.SKIPPED))
        else:
            accepted.append(h)
    if not accepted:
        if reasons:
            reason = Counter(r for _, r in reasons).most_common(1)[0][0]
            set_aside.append(_set_aside(first, reason, len(reasons)))
        return
    for h, reason in reasons:
        issues.append(LoadIssue(str(h.path), f"set aside from {label}: {reason}", IssueSeverity.SET_ASIDE))
    if localizer_description(first.series_description):
        set_aside.append(
            _set_aside(first, f"localizer (series description '{first.series_description}')", len(accepted))
        )
        return
    for h in accepted:
        issues.extend(LoadIssue(str(h.path), w, IssueSeverity.WARNING) for w in h.warnings)
    candidates = [_Candidate.of(h, f) for h in accepted for f in h.frames]
    planes = {nearest_plane(c.normal) for c in candidates if c.normal is not None}
    if len(planes) > 1 and len(candidates) <= LOCALIZER_MAX_SLICES:
        names = ", ".join(sorted(p.value for p in planes))
        set_aside.append(
            _set_aside(first, f"localizer: {len(candidates)} images in {names} planes", len(accepted))
        )
        return
    stacks = _split_into_stacks(candidates, label, issues)
    for part, stack in enumerate(stacks, start=1):
        out.append(_build_series(stack, part if len(stacks) > 1 else None, label, issues))


def _set_aside(h: InstanceHeader, reason: str, file_count: int) -> SetAsideSeries:
    return SetAsideSeries(
        series_instance_uid=h.series_instance_uid,
        description=h.series_description,
        modality=h.modality,
        reason=reason,
        file_count=file_count,
    )


def _stack_key(c: _Candidate) -> tuple[int, int, tuple[float, float], Orientation, int | None]:
    g = c.frame.geometry
    assert g is not None and c.normal is not None  # only called on slices with geometry
    echo = None if c.frame.echo_time_ms is None else round(c.frame.echo_time_ms)
    spacing = (round(g.pixel_spacing_mm[0], 2), round(g.pixel_spacing_mm[1], 2))
    return (g.rows, g.columns, spacing, nearest_plane(c.normal), echo)


def _describe_key(key: tuple[int, int, tuple[float, float], Orientation, int | None]) -> str:
    rows, columns, spacing, plane, echo = key
    echo_text = "" if echo is None else f", TE {echo} ms"
    return f"{rows}x{columns}, {spacing[0]:g}x{spacing[1]:g} mm, {plane.value}{echo_text}"


def _split_into_stacks(
    candidates: list[_Candidate], label: str, issues: list[LoadIssue]
) -> list[list[_Candidate]]:
    """Stacks of one series (largest first); stray minority slices reported and dropped."""
    groups: dict[tuple, list[_Candidate]] = defaultdict(list)
    without_geometry = []
    for c in candidates:
        if c.frame.geometry is None:
            without_geometry.append(c)
        else:
            groups[_stack_key(c)].append(c)
    if not groups:
        return [without_geometry]
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), min(c.file_order for c in kv[1])))
    kept = [(k, g) for k, g in ordered if len(g) >= MIN_STACK_SLICES] or ordered[:1]
    main_key = kept[0][0]
    for key, group in ordered:
        if all(key != k for k, _ in kept):
            for c in group:
                issues.append(
                    LoadIssue(
                        c.where,
                        f"dropped from {label}: stray slice ({_describe_key(key)}) in a stack of "
                        f"{_describe_key(main_key)}",
                        IssueSeverity.SKIPPED,
                    )
                )
    stacks = [list(g) for _, g in kept]
    for c in without_geometry:
        # Without geometry, a slice can only join a stack of the same matrix.
        matrix = (c.header.pixels.rows, c.header.pixels.columns) if c.header.pixels else None
        home = next((s for (k, _), s in zip(kept, stacks, strict=True) if (k[0], k[1]) == matrix), None)
        if home is None:
            issues.append(
                LoadIssue(
                    c.where,
                    f"dropped from {label}: no geometry and a matrix unlike its stacks",
                    IssueSeverity.SKIPPED,
                )
            )
        else:
            home.append(c)
    if len(stacks) > 1:
        described = "; ".join(
            f"{len(s)} slices {_describe_key(k)}" for (k, _), s in zip(kept, stacks, strict=True)
        )
        issues.append(
            LoadIssue(
                str(candidates[0].header.path.parent),
                f"{label} holds {len(stacks)} stacks, loaded as separate series: {described}",
                IssueSeverity.WARNING,
            )
        )
    return stacks


def _build_series(
    stack: list[_Candidate], split_part: int | None, label: str, issues: list[LoadIssue]
) -> AssembledSeries:
    first = stack[0].header
    folder = str(first.path.parent)
    mean_normal: np.ndarray | None = None
    if all(c.normal is not None for c in stack):
        mean_normal = _mean_normal([c.normal for c in stack if c.normal is not None])
        along = mean_normal
        order = sorted(
            stack, key=lambda c: (float(c.centre @ along) if c.centre is not None else 0.0, c.file_order)
        )
        _check_spacing(order, mean_normal, label, folder, issues)
    else:
        missing = sum(c.normal is None for c in stack)
        order = sorted(stack, key=lambda c: c.file_order)
        issues.append(
            LoadIssue(
                folder,
                f"{label}: {missing} of {len(stack)} slices have no geometry; slices are in InstanceNumber order",
                IssueSeverity.WARNING,
            )
        )
        known = [c.normal for c in stack if c.normal is not None]
        mean_normal = _mean_normal(known) if known else None
    acquisition = first.acquisition
    description = first.series_description
    return AssembledSeries(
        series_instance_uid=first.series_instance_uid,
        study_instance_uid=first.study_instance_uid,
        series_number=first.series_number,
        description=description,
        modality=first.modality or "MR",
        orientation=orientation_of(mean_normal),
        sequence=classify_sequence(description, acquisition),
        slices=tuple(c.image for c in order),
        sources={
            c.image.key: PixelSource(c.header.path, c.header.pixels, c.frame.frame_index)
            for c in order
            if c.header.pixels is not None
        },
        manufacturer=first.manufacturer,
        echo_time_ms=stack[0].frame.echo_time_ms
        if stack[0].frame.echo_time_ms is not None
        else acquisition.echo_time_ms,
        repetition_time_ms=acquisition.repetition_time_ms,
        split_part=split_part,
    )


def _mean_normal(normals: list[np.ndarray]) -> np.ndarray:
    """Mean of slice normals (signs aligned), oriented so its dominant LPS component is positive."""
    stacked = np.asarray(normals, dtype=np.float64)
    signs = np.where(stacked @ stacked[0] < 0, -1.0, 1.0)
    mean = (stacked * signs[:, None]).mean(axis=0)
    mean /= np.linalg.norm(mean)
    if mean[int(np.argmax(np.abs(mean)))] < 0:
        mean = -mean
    return mean


def _check_spacing(
    order: list[_Candidate], mean_normal: np.ndarray, label: str, folder: str, issues: list[LoadIssue]
) -> None:
    """Warn about slices sharing a position and about gaps in a parallel stack."""
    if len(order) < 3:
        return
    normals = np.array([c.normal for c in order])
    if np.min(np.abs(normals @ mean_normal)) < 0.9999:
        return  # angled stacks: distances between differently tilted planes are not slice gaps
    positions = np.array([c.centre for c in order]) @ mean_normal
    steps = np.diff(positions)
    shared = int(np.sum(steps < _SAME_POSITION_MM))
    if shared:
        issues.append(
            LoadIssue(
                folder,
                f"{label}: {shared + 1} slices share a position (repeated or multi-phase acquisition?)",
                IssueSeverity.WARNING,
            )
        )
    moving = steps[steps >= _SAME_POSITION_MM]
    if moving.size >= 2:
        typical = float(np.median(moving))
        for i, step in enumerate(steps):
            if step > _GAP_FACTOR * typical + 0.1:
                issues.append(
                    LoadIssue(
                        folder,
                        f"{label}: gap of {step:.1f} mm between slices {i + 1} and {i + 2} "
                        f"(typical spacing {typical:.1f} mm): a slice may be missing",
                        IssueSeverity.WARNING,
                    )
                )

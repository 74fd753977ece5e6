"""The viewer session: the one place that holds what the radiologist is looking at. Qt-free.

It keeps the study, which series each view shows with its slice and window, the findings whose
masks and explanation maps are overlaid, the masks segmented on request from a text prompt, the
overlay settings, the disc level labels, the selected level and the anonymise switch. Widgets subscribe to `session.events` and call the action methods;
they never keep clinical state of their own. All methods must be called on one thread (the GUI
thread); only `session.pixels` is shared with workers.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from engine.findings import DiscLevel, SliceMask, StudyFindings
from engine.study.cross_reference import nearest_slice_index, plane_intersection_in_image
from engine.study.model import ImageSlice, Orientation, Series, SliceGeometry, Study
from lss_desktop.events import EventEmitter
from lss_desktop.hanging_protocol import ViewSlot, hang_lumbar_study
from lss_desktop.overlays import OverlaySettings
from lss_desktop.pixel_cache import SlicePixelCache
from lss_desktop.windowing import WindowLevel, auto_window, preset_by_name, robust_max

logger = logging.getLogger(__name__)

PixelSegment = tuple[tuple[float, float], tuple[float, float]]


class ViewChange(StrEnum):
    SERIES = "series"
    SLICE = "slice"
    WINDOW = "window"


@dataclass(frozen=True)
class ViewState:
    """What one view shows: a series of the study, a slice index in it, and a window."""

    series_key: str | None = None  # Series.key (a split DICOM series has one key per part)
    slice_index: int = 0
    window: WindowLevel | None = None


@dataclass(frozen=True)
class LevelLabelOnImage:
    """A disc level label projected onto a view's current slice, in that slice's pixel indices."""

    level: DiscLevel
    row: float
    column: float
    distance_mm: float  # from the label's position to the slice plane


@dataclass(frozen=True)
class CrossReferenceLine:
    """Where the current slice of `source` cuts the image of another view (pixel indices)."""

    source: ViewSlot
    segment: PixelSegment


class SessionEvents:
    """The session's events; each callback receives the arguments named in the comment."""

    def __init__(self) -> None:
        self.study_changed = EventEmitter("study_changed")  # (study | None)
        self.view_changed = EventEmitter("view_changed")  # (slot, ViewChange)
        self.findings_changed = EventEmitter("findings_changed")  # (findings | None): a new analysis
        self.findings_edited = EventEmitter("findings_edited")  # (findings, re-measured level labels)
        self.masks_painted = EventEmitter("masks_painted")  # (series UID, ImageSlice.key): pixels changed
        self.overlay_settings_changed = EventEmitter("overlay_settings_changed")  # (settings)
        self.level_labels_changed = EventEmitter("level_labels_changed")  # (labels tuple)
        self.level_label_moved = EventEmitter("level_label_moved")  # (level, position_lps)
        self.prompt_masks_changed = EventEmitter("prompt_masks_changed")  # (prompt masks tuple)
        self.selection_changed = EventEmitter("selection_changed")  # (level | None)
        self.anonymised_changed = EventEmitter("anonymised_changed")  # (bool)

    def all(self) -> tuple[EventEmitter, ...]:
        return tuple(v for v in vars(self).values() if isinstance(v, EventEmitter))


def mask_slice_key(item: SliceMask) -> str:
    """The ImageSlice.key of the slice a mask lies on."""
    return (
        item.sop_instance_uid if item.frame_index is None else f"{item.sop_instance_uid}#{item.frame_index}"
    )


class ViewerSession:
    """Evented state of the viewer; see the module docstring."""

    def __init__(self, pixel_cache: SlicePixelCache | None = None) -> None:
        self.events = SessionEvents()
        self.pixels = pixel_cache if pixel_cache is not None else SlicePixelCache()
        self._study: Study | None = None
        self._views: dict[ViewSlot, ViewState] = {slot: ViewState() for slot in ViewSlot}
        self._findings: StudyFindings | None = None
        self._masks_by_slice: dict[tuple[str, str], list[SliceMask]] = {}
        self._explanations_by_slice: dict[tuple[str, str], list[SliceMask]] = {}
        self._prompt_masks: tuple[SliceMask, ...] = ()
        self._prompt_masks_by_slice: dict[tuple[str, str], list[SliceMask]] = {}
        self._overlay = OverlaySettings()
        self._level_labels: tuple[DiscLevel, ...] = ()
        self._selected_level: str | None = None
        self._anonymised = False
        self._robust_max: dict[str, float] = {}

    # ---- reading -------------------------------------------------------------------------

    @property
    def study(self) -> Study | None:
        return self._study

    @property
    def findings(self) -> StudyFindings | None:
        return self._findings

    @property
    def prompt_masks(self) -> tuple[SliceMask, ...]:
        """Masks segmented from a person's text prompt: shown, not part of the findings or report."""
        return self._prompt_masks

    @property
    def overlay_settings(self) -> OverlaySettings:
        return self._overlay

    @property
    def level_labels(self) -> tuple[DiscLevel, ...]:
        return self._level_labels

    @property
    def selected_level(self) -> str | None:
        return self._selected_level

    @property
    def anonymised(self) -> bool:
        return self._anonymised

    def view(self, slot: ViewSlot) -> ViewState:
        return self._views[slot]

    def series_in(self, slot: ViewSlot) -> Series | None:
        key = self._views[slot].series_key
        if key is None or self._study is None:
            return None
        return self._series_by_key(key)

    def _series_by_key(self, key: str) -> Series:
        assert self._study is not None
        for series in self._study.series:
            if series.key == key:
                return series
        raise KeyError(f"no series {key} in the open study")

    def current_slice(self, slot: ViewSlot) -> ImageSlice | None:
        series = self.series_in(slot)
        return None if series is None else series.slices[self._views[slot].slice_index]

    def current_geometry(self, slot: ViewSlot) -> SliceGeometry | None:
        image = self.current_slice(slot)
        return None if image is None else image.geometry

    def current_pixels(self, slot: ViewSlot) -> np.ndarray | None:
        """Float32 (rows, columns) of the slice the view shows, decoded on first use."""
        series = self.series_in(slot)
        return None if series is None else self.pixels.pixels(series, self._views[slot].slice_index)

    def masks_on(self, slot: ViewSlot) -> tuple[SliceMask, ...]:
        """The findings' masks on the view's slice, then the prompt masks (drawn over them)."""
        series, image = self.series_in(slot), self.current_slice(slot)
        if series is None or image is None:
            return ()
        key = (series.series_instance_uid, image.key)
        return (*self._masks_by_slice.get(key, ()), *self._prompt_masks_by_slice.get(key, ()))

    def explanation_on(self, slot: ViewSlot) -> np.ndarray | None:
        """The explanation map (float 0..1, (rows, columns)) on the view's slice, or None."""
        series, image = self.series_in(slot), self.current_slice(slot)
        if series is None or image is None:
            return None
        maps = self._explanations_by_slice.get((series.series_instance_uid, image.key), [])
        if not maps:
            return None
        return np.maximum.reduce([np.asarray(m.mask, dtype=np.float32) for m in maps])

    def cross_reference_lines(self, slot: ViewSlot) -> tuple[CrossReferenceLine, ...]:
        """Lines where the other views' current slices cut this view's image."""
        target = self.current_geometry(slot)
        if target is None:
            return ()
        lines = []
        for other in ViewSlot:
            geometry = self.current_geometry(other) if other is not slot else None
            if geometry is None:
                continue
            segment = plane_intersection_in_image(target, geometry)
            if segment is not None:
                lines.append(CrossReferenceLine(source=other, segment=segment))
        return tuple(lines)

    def level_labels_on(self, slot: ViewSlot) -> tuple[LevelLabelOnImage, ...]:
        """Disc level labels projected onto a sagittal view's slice (empty for other views)."""
        series, geometry = self.series_in(slot), self.current_geometry(slot)
        if series is None or geometry is None or series.orientation is not Orientation.SAGITTAL:
            return ()
        placed = []
        for level in self._level_labels:
            row, column, distance = geometry.lps_to_pixel(np.asarray(level.centre_lps))
            if -0.5 <= row <= geometry.rows - 0.5 and -0.5 <= column <= geometry.columns - 0.5:
                placed.append(LevelLabelOnImage(level, float(row), float(column), float(distance)))
        return tuple(placed)

    # ---- study and series ----------------------------------------------------------------

    def set_study(self, study: Study | None) -> None:
        """Show a new study (None closes it): views hung by the lumbar protocol, findings cleared."""
        self._study = study
        self._views = {slot: ViewState() for slot in ViewSlot}
        self._robust_max.clear()
        self.pixels.clear()
        self._set_findings_silently(None)
        self._set_prompt_masks_silently(())
        self._selected_level = None
        self.events.study_changed.emit(study)
        self.events.findings_changed.emit(None)
        self.events.prompt_masks_changed.emit(())
        self.events.level_labels_changed.emit(self._level_labels)
        self.events.selection_changed.emit(None)
        if study is None:
            for slot in ViewSlot:
                self.events.view_changed.emit(slot, ViewChange.SERIES)
            return
        for slot, series in hang_lumbar_study(study).items():
            if series is None:
                self.events.view_changed.emit(slot, ViewChange.SERIES)
            else:
                self.show_series(slot, series.key)

    def show_series(self, slot: ViewSlot, series_key: str | None) -> None:
        """Show a series of the study (by Series.key) in `slot` (None empties it), at its middle slice."""
        if series_key is None:
            self._views[slot] = ViewState()
            self.events.view_changed.emit(slot, ViewChange.SERIES)
            return
        if self._study is None:
            raise RuntimeError("no study is open")
        series = self._series_by_key(series_key)
        middle = len(series) // 2
        self._views[slot] = ViewState(series_key=series_key, slice_index=middle, window=None)
        self._views[slot] = dataclasses.replace(self._views[slot], window=self._default_window(slot))
        self.events.view_changed.emit(slot, ViewChange.SERIES)

    def _default_window(self, slot: ViewSlot) -> WindowLevel | None:
        """The slice's DICOM window, else the automatic one; None when the slice cannot be decoded."""
        image = self.current_slice(slot)
        if image is not None and image.window_centre is not None and image.window_width:
            return WindowLevel(centre=image.window_centre, width=image.window_width)
        try:
            pixels = self.current_pixels(slot)
        except Exception as exc:  # one undecodable slice must not stop the study from opening
            logger.warning("no default window for the %s view: %s", slot.value, exc)
            return None
        return auto_window(pixels) if pixels is not None else None

    # ---- navigation ----------------------------------------------------------------------

    def set_slice(self, slot: ViewSlot, index: int) -> None:
        """Show slice `index` (clamped to the series) in `slot`."""
        series = self.series_in(slot)
        if series is None:
            return
        index = int(min(max(index, 0), len(series) - 1))
        if index == self._views[slot].slice_index:
            return
        self._views[slot] = dataclasses.replace(self._views[slot], slice_index=index)
        self.events.view_changed.emit(slot, ViewChange.SLICE)

    def scroll(self, slot: ViewSlot, steps: int) -> None:
        self.set_slice(slot, self._views[slot].slice_index + steps)

    def locate(self, slot: ViewSlot, point_lps: tuple[float, float, float] | np.ndarray) -> None:
        """Move every other view to its slice whose plane passes nearest `point_lps` (mm)."""
        for other in ViewSlot:
            series = self.series_in(other)
            if other is slot or series is None:
                continue
            try:
                self.set_slice(other, nearest_slice_index(series, point_lps))
            except ValueError:
                logger.warning("series in the %s view has no geometry; it cannot follow", other.value)

    def locate_pixel(self, slot: ViewSlot, row: float, column: float) -> np.ndarray | None:
        """Locate from a point given in the pixel indices of `slot`'s slice; returns it in LPS."""
        geometry = self.current_geometry(slot)
        if geometry is None:
            return None
        point = geometry.pixel_to_lps(row, column)
        self.locate(slot, point)
        return point

    # ---- window / level ------------------------------------------------------------------

    def set_window(self, slot: ViewSlot, window: WindowLevel) -> None:
        if self.series_in(slot) is None or window == self._views[slot].window:
            return
        self._views[slot] = dataclasses.replace(self._views[slot], window=window)
        self.events.view_changed.emit(slot, ViewChange.WINDOW)

    def auto_window(self, slot: ViewSlot) -> None:
        """Window from the percentiles of the view's current slice."""
        pixels = self.current_pixels(slot)
        if pixels is not None:
            self.set_window(slot, auto_window(pixels))

    def apply_window_preset(self, slot: ViewSlot, preset_name: str) -> None:
        """A spine preset, scaled to the series' robust maximum (middle slice)."""
        series = self.series_in(slot)
        if series is None:
            return
        if series.key not in self._robust_max:
            self._robust_max[series.key] = robust_max(self.pixels.pixels(series, len(series) // 2))
        self.set_window(slot, preset_by_name(preset_name).window_for(self._robust_max[series.key]))

    def reset_window(self, slot: ViewSlot) -> None:
        """Back to the DICOM window of the slice, or the automatic one without it."""
        window = self._default_window(slot) if self.series_in(slot) is not None else None
        if window is not None:
            self.set_window(slot, window)

    # ---- findings, overlays, level labels ------------------------------------------------

    def _set_findings_silently(self, findings: StudyFindings | None) -> None:
        self._findings = findings
        self._index_overlays(findings)
        self._level_labels = findings.levels if findings else ()

    def _index_overlays(self, findings: StudyFindings | None) -> None:
        self._masks_by_slice = {}
        self._explanations_by_slice = {}
        for target, items in (
            (self._masks_by_slice, findings.masks if findings else ()),
            (self._explanations_by_slice, findings.explanations if findings else ()),
        ):
            for item in items:
                target.setdefault((item.series_instance_uid, mask_slice_key(item)), []).append(item)

    def set_findings(self, findings: StudyFindings | None) -> None:
        """Overlay the masks, explanation maps and level labels of an analysis."""
        if (
            findings is not None
            and self._study is not None
            and findings.study_instance_uid != self._study.study_instance_uid
        ):
            raise ValueError(
                f"findings are for study {findings.study_instance_uid}, "
                f"not the open study {self._study.study_instance_uid}"
            )
        self._set_findings_silently(findings)
        self.events.findings_changed.emit(findings)
        self.events.level_labels_changed.emit(self._level_labels)

    def apply_findings_edit(self, findings: StudyFindings, remeasured_levels: tuple[str, ...]) -> None:
        """A person's edit changed the findings (masks, re-measured levels): overlays follow at once,
        the views stay where they are and the level labels are kept. Emits `findings_edited`."""
        if self._findings is None or findings.study_instance_uid != self._findings.study_instance_uid:
            raise ValueError("an edit applies to the findings shown, of the same study")
        self._findings = findings
        self._index_overlays(findings)
        self.events.findings_edited.emit(findings, remeasured_levels)

    def _set_prompt_masks_silently(self, masks: tuple[SliceMask, ...]) -> None:
        self._prompt_masks = masks
        self._prompt_masks_by_slice = {}
        for item in masks:
            self._prompt_masks_by_slice.setdefault(
                (item.series_instance_uid, mask_slice_key(item)), []
            ).append(item)

    def add_prompt_masks(self, masks: tuple[SliceMask, ...] | list[SliceMask]) -> None:
        """Show masks segmented from a text prompt (a structure of their own in the legend); a mask
        for the same prompt on the same slice replaces the earlier one."""
        if self._study is None:
            raise RuntimeError("no study is open")
        new = tuple(masks)
        replaced = {(m.structure, m.series_instance_uid, mask_slice_key(m)) for m in new}
        kept = tuple(
            m
            for m in self._prompt_masks
            if (m.structure, m.series_instance_uid, mask_slice_key(m)) not in replaced
        )
        self._set_prompt_masks_silently((*kept, *new))
        self.events.prompt_masks_changed.emit(self._prompt_masks)

    def clear_prompt_masks(self) -> None:
        if self._prompt_masks:
            self._set_prompt_masks_silently(())
            self.events.prompt_masks_changed.emit(())

    def notify_masks_painted(self, series_instance_uid: str, slice_key: str) -> None:
        """Pixels of a mask shown on (series, slice) changed in place (a brush stroke in progress)."""
        self.events.masks_painted.emit(series_instance_uid, slice_key)

    def set_overlay_settings(self, settings: OverlaySettings) -> None:
        if settings != self._overlay:
            self._overlay = settings
            self.events.overlay_settings_changed.emit(settings)

    def move_level_label(self, level: str, position_lps: tuple[float, float, float] | np.ndarray) -> None:
        """A person dragged a level label: its disc centre moves to `position_lps` (mm).

        Emits `level_label_moved(level, position)`; re-deriving findings from it is the engine's job.
        """
        x, y, z = (float(v) for v in np.asarray(position_lps, dtype=np.float64).reshape(3))
        position = (x, y, z)
        labels = list(self._level_labels)
        for i, label in enumerate(labels):
            if label.label == level:
                labels[i] = dataclasses.replace(label, centre_lps=position)
                break
        else:
            raise KeyError(f"no level label {level!r}")
        self._level_labels = tuple(labels)
        self.events.level_labels_changed.emit(self._level_labels)
        self.events.level_label_moved.emit(level, position)

    def reset_level_labels(self) -> None:
        """Put the level labels back where the findings have their discs (a drag that changed
        nothing, or was refused)."""
        self._level_labels = self._findings.levels if self._findings else ()
        self.events.level_labels_changed.emit(self._level_labels)

    def select_level(self, level: str | None) -> None:
        if level != self._selected_level:
            self._selected_level = level
            self.events.selection_changed.emit(level)

    def _key_slice_series(self, level: str) -> Series | None:
        """The series (part) of the study holding a level's key slice, if a finding names one."""
        finding = self._findings.finding_for(level) if self._findings else None
        if finding is None or finding.key_slice_sop_instance_uid is None or self._study is None:
            return None
        for series in self._study.series:
            if series.series_instance_uid != finding.axial_series_uid:
                continue
            try:
                series.slice_index_by_uid(finding.key_slice_sop_instance_uid, finding.key_slice_frame_index)
            except KeyError:
                continue
            return series
        return None

    def go_to_level(self, level: str, show_key_series: bool = False) -> None:
        """Select a level and move the views to it: sagittal views to the slice nearest its disc
        centre, other views to the level's key slice when a finding names one, else the slice
        nearest the disc centre. `show_key_series`: when no view shows the series of the key
        slice, the first view that shows no sagittal series is switched to it."""
        disc = next((d for d in self._level_labels if d.label == level), None)
        if disc is None:
            raise KeyError(f"no level label {level!r}")
        self.select_level(level)
        key_series = self._key_slice_series(level) if show_key_series else None
        if key_series is not None and all(self.series_in(slot) is not key_series for slot in ViewSlot):
            target = next(
                (
                    slot
                    for slot in (ViewSlot.MIDDLE, ViewSlot.RIGHT, ViewSlot.LEFT)
                    if (shown := self.series_in(slot)) is not None
                    and shown.orientation is not Orientation.SAGITTAL
                ),
                ViewSlot.MIDDLE,
            )
            self.show_series(target, key_series.key)
        finding = self._findings.finding_for(level) if self._findings else None
        for slot in ViewSlot:
            series = self.series_in(slot)
            if series is None:
                continue
            if (
                finding is not None
                and finding.axial_series_uid == series.series_instance_uid
                and finding.key_slice_sop_instance_uid is not None
            ):
                try:
                    key_index = series.slice_index_by_uid(
                        finding.key_slice_sop_instance_uid, finding.key_slice_frame_index
                    )
                except KeyError:  # the key slice is in another part of a split series
                    pass
                else:
                    self.set_slice(slot, key_index)
                    continue
            try:
                self.set_slice(slot, nearest_slice_index(series, disc.centre_lps))
            except ValueError:
                continue

    def set_anonymised(self, anonymised: bool) -> None:
        if anonymised != self._anonymised:
            self._anonymised = anonymised
            self.events.anonymised_changed.emit(anonymised)

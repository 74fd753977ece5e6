"""Mask editing by a person: brush and eraser sized in millimetres, per structure, on any view,
with undo and redo stored as pixel diffs. Qt-free; the views only translate mouse events.

A stroke paints into a live copy of the mask (made at the first edit of a mask, so the analysis'
own arrays are never changed); the session's findings hold that live mask, so every dab shows at
once (`ViewerSession.notify_masks_painted`). `flush()` re-measures the levels resting on the
edited mask (`engine.measurements.after_mask_edit`) and hands the new findings to the session,
whose `findings_edited` event lets the report redraft the level's sentence. A finished stroke is
kept as the changed pixel indices with their old and new values (`SliceMaskDiff`), plus the mask
objects and level findings before and after, so undo and redo restore exactly, across slices.

Live masks are changed in place on the GUI thread while a stroke runs: work handed to another
thread takes `snapshot_findings()` (copies of the masks) first.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from engine.findings import LevelFinding, SliceMask, Structure, StudyFindings
from engine.measurements.after_mask_edit import MaskKey, findings_with_edited_masks, mask_key
from lss_desktop.events import EventEmitter
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.session import ViewerSession

logger = logging.getLogger(__name__)

MIN_BRUSH_MM = 0.5
MAX_BRUSH_MM = 40.0
DEFAULT_BRUSH_MM = 4.0
UNDO_LIMIT = 200  # strokes kept; each holds only the pixels it changed


class EditTool(StrEnum):
    NAVIGATE = "navigate"  # clicks locate, drags move level labels: no painting
    BRUSH = "brush"
    ERASER = "eraser"


def stroke_footprint(
    start_rc: tuple[float, float] | None,
    end_rc: tuple[float, float],
    diameter_mm: float,
    pixel_spacing_mm: tuple[float, float],
    shape: tuple[int, int],
) -> np.ndarray:
    """Flat indices (int64, sorted) of the pixels a round brush covers moving from `start_rc` to
    `end_rc` (fractional (row, column); None: a single dab at `end_rc`).

    The brush is a circle of `diameter_mm` in patient millimetres, so on anisotropic pixels
    (row spacing != column spacing) it covers an ellipse of pixels. A pixel is covered when its
    centre lies within the brush radius of the segment; the pixel under the brush centre is always
    covered, so the smallest brush still paints. Pixels outside `shape` (rows, columns) are dropped.
    """
    rows, columns = shape
    row_mm, column_mm = (float(v) for v in pixel_spacing_mm)
    radius = diameter_mm / 2.0
    r1, c1 = end_rc
    r0, c0 = start_rc if start_rc is not None else end_rc
    top = max(math.floor(min(r0, r1) - radius / row_mm), 0)
    bottom = min(math.ceil(max(r0, r1) + radius / row_mm), rows - 1)
    left = max(math.floor(min(c0, c1) - radius / column_mm), 0)
    right = min(math.ceil(max(c0, c1) + radius / column_mm), columns - 1)
    if top > bottom or left > right:
        return np.zeros(0, dtype=np.int64)
    rr, cc = np.mgrid[top : bottom + 1, left : right + 1]
    # Distances in millimetres from each pixel centre to the segment (a capsule test).
    py, px = (rr - r0) * row_mm, (cc - c0) * column_mm
    dy, dx = (r1 - r0) * row_mm, (c1 - c0) * column_mm
    length2 = dy * dy + dx * dx
    t = np.clip((py * dy + px * dx) / length2, 0.0, 1.0) if length2 > 0 else np.zeros_like(py)
    inside = (py - t * dy) ** 2 + (px - t * dx) ** 2 <= radius * radius
    for r, c in {(round(r0), round(c0)), (round(r1), round(c1))}:
        if top <= r <= bottom and left <= c <= right:
            inside[r - top, c - left] = True
    return np.sort((rr[inside] * columns + cc[inside]).astype(np.int64))


@dataclass(frozen=True, eq=False)
class SliceMaskDiff:
    """The pixels one stroke changed in one mask: flat indices into (rows, columns), sorted, with
    their values before and after (bool, same length)."""

    key: MaskKey
    indices: np.ndarray
    old_values: np.ndarray
    new_values: np.ndarray


@dataclass(frozen=True, eq=False)
class MaskStroke:
    """One finished stroke: its pixel diffs, the mask objects and level findings it replaced and
    put in their place (so undo and redo restore the findings exactly), and where it was drawn."""

    tool: EditTool
    structure: str
    diffs: tuple[SliceMaskDiff, ...]
    masks_before: tuple[tuple[MaskKey, SliceMask | None], ...]
    masks_after: tuple[tuple[MaskKey, SliceMask], ...]
    levels_before: tuple[LevelFinding, ...]
    levels_after: tuple[LevelFinding, ...]

    @property
    def changed_pixels(self) -> int:
        return sum(len(d.indices) for d in self.diffs)


@dataclass
class _StrokeInProgress:
    slot: ViewSlot
    key: MaskKey
    slice_key: str
    live: SliceMask
    before_pixels: np.ndarray  # a copy, dropped when the stroke ends (the diff is kept instead)
    mask_before: SliceMask | None
    levels_before: dict[str, LevelFinding]
    spacing: tuple[float, float]
    last_rc: tuple[float, float] | None = None
    applied: bool = False  # the live mask is in the session's findings
    remeasured: set[str] = field(default_factory=set)


class MaskEditorEvents:
    def __init__(self) -> None:
        self.tool_changed = EventEmitter("tool_changed")  # (tool, size_mm, structure)
        self.history_changed = EventEmitter("history_changed")  # (can_undo, can_redo)
        self.edit_refused = EventEmitter("edit_refused")  # (reason shown to the user)
        self.lock_changed = EventEmitter("lock_changed")  # (reason | None)

    def all(self) -> tuple[EventEmitter, ...]:
        return tuple(v for v in vars(self).values() if isinstance(v, EventEmitter))


class MaskEditor:
    """Brush, eraser and the undo history of one viewer session; see the module docstring."""

    def __init__(self, session: ViewerSession) -> None:
        self.session = session
        self.events = MaskEditorEvents()
        self._tool = EditTool.NAVIGATE
        self._size_mm = DEFAULT_BRUSH_MM
        self._structure = Structure.DURAL_SAC.value
        self._live: dict[MaskKey, SliceMask] = {}
        self._undo: list[MaskStroke] = []
        self._redo: list[MaskStroke] = []
        self._stroke: _StrokeInProgress | None = None
        self._pending_flush = False
        self._locked_reason: str | None = None
        self._subscriptions = (
            (session.events.findings_changed, self._on_new_findings),
            (session.events.study_changed, self._on_new_findings),
        )
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)

    # ---- settings ------------------------------------------------------------------------

    @property
    def tool(self) -> EditTool:
        return self._tool

    @property
    def size_mm(self) -> float:
        """Brush diameter in millimetres."""
        return self._size_mm

    @property
    def structure(self) -> str:
        """The structure painted or erased (the one selected in the overlay legend)."""
        return self._structure

    @property
    def painting(self) -> bool:
        return self._tool is not EditTool.NAVIGATE

    @property
    def locked_reason(self) -> str | None:
        """Why masks cannot be edited now (e.g. the report is final), or None."""
        return self._locked_reason

    def set_tool(self, tool: EditTool) -> None:
        tool = EditTool(tool)
        if tool is not self._tool:
            self.end_stroke()
            self._tool = tool
            self._emit_tool()

    def set_size_mm(self, diameter_mm: float) -> None:
        size = float(min(max(diameter_mm, MIN_BRUSH_MM), MAX_BRUSH_MM))
        if size != self._size_mm:
            self._size_mm = size
            self._emit_tool()

    def set_structure(self, structure: str) -> None:
        structure = structure.strip()
        if not structure:
            raise ValueError("a structure to paint is required")
        if structure != self._structure:
            self.end_stroke()
            self._structure = structure
            self._emit_tool()

    def set_locked(self, reason: str | None) -> None:
        if reason != self._locked_reason:
            self.end_stroke()
            self._locked_reason = reason
            self.events.lock_changed.emit(reason)
            self._emit_history()

    def _emit_tool(self) -> None:
        self.events.tool_changed.emit(self._tool, self._size_mm, self._structure)

    # ---- history -------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and self._stroke is None and self._locked_reason is None

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and self._stroke is None and self._locked_reason is None

    @property
    def undo_strokes(self) -> tuple[MaskStroke, ...]:
        return tuple(self._undo)

    def _emit_history(self) -> None:
        self.events.history_changed.emit(self.can_undo, self.can_redo)

    def _on_new_findings(self, *_args: object) -> None:
        """A new analysis or study: strokes on the old findings cannot be undone into the new ones."""
        self._stroke = None
        self._pending_flush = False
        self._live.clear()
        self._undo.clear()
        self._redo.clear()
        self._emit_history()

    # ---- strokes -------------------------------------------------------------------------

    def _refuse(self, reason: str) -> bool:
        logger.info("mask edit refused: %s", reason)
        self.events.edit_refused.emit(reason)
        return False

    def begin_stroke(self, slot: ViewSlot) -> bool:
        """Start painting on the slice `slot` shows; False (with `edit_refused`) when it cannot."""
        self.end_stroke()
        if not self.painting:
            return False
        if self._locked_reason is not None:
            return self._refuse(self._locked_reason)
        findings = self.session.findings
        series, image = self.session.series_in(slot), self.session.current_slice(slot)
        if findings is None:
            return self._refuse("There are no findings to edit yet: analyse the study first.")
        if series is None or image is None or image.geometry is None:
            return self._refuse("This view shows no image with geometry to paint on.")
        geometry = image.geometry
        key: MaskKey = (
            series.series_instance_uid,
            image.sop_instance_uid,
            image.frame_index,
            self._structure,
        )
        existing = next((m for m in findings.masks if mask_key(m) == key), None)
        shape = (geometry.rows, geometry.columns)
        if existing is not None and existing.mask.shape != shape:
            return self._refuse(
                f"The {self._structure} mask on this image is {existing.mask.shape[0]}×{existing.mask.shape[1]} "
                f"pixels but the image is {shape[0]}×{shape[1]}: it cannot be edited here."
            )
        live = self._live.get(key)
        if live is None or existing is not live:
            pixels = (
                np.zeros(shape, dtype=bool)
                if existing is None
                else np.array(existing.mask, dtype=bool, order="C")
            )
            live = SliceMask(
                structure=self._structure,
                series_instance_uid=series.series_instance_uid,
                sop_instance_uid=image.sop_instance_uid,
                frame_index=image.frame_index,
                mask=pixels,
                provenance=None if existing is None else existing.provenance,
                edited_by_person=True,
            )
            self._live[key] = live
        self._stroke = _StrokeInProgress(
            slot=slot,
            key=key,
            slice_key=image.key,
            live=live,
            before_pixels=live.mask.copy(),
            mask_before=existing,
            levels_before={f.level: f for f in findings.findings},
            spacing=geometry.pixel_spacing_mm,
            applied=existing is live,
        )
        self._emit_history()
        return True

    def paint(self, row: float, column: float) -> int:
        """Paint (brush) or erase along the stroke to pixel (row, column) of the stroke's slice;
        returns how many pixels changed. The pixels show at once; call `flush()` for the numbers."""
        stroke = self._stroke
        if stroke is None:
            return 0
        pixels = stroke.live.mask
        indices = stroke_footprint(stroke.last_rc, (row, column), self._size_mm, stroke.spacing, pixels.shape)
        stroke.last_rc = (row, column)
        value = self._tool is EditTool.BRUSH
        flat = pixels.reshape(-1)
        changing = indices[flat[indices] != value]
        if changing.size == 0:
            return 0
        flat[changing] = value
        self._pending_flush = True
        if not stroke.applied:
            self.flush()  # the live mask replaces the analysis' mask in the findings shown
        self.session.notify_masks_painted(stroke.key[0], stroke.slice_key)
        return int(changing.size)

    def flush(self) -> tuple[str, ...]:
        """Re-measure the levels resting on the stroke's mask and hand the findings to the session;
        returns the labels of the re-measured levels (empty when nothing was pending)."""
        stroke = self._stroke
        findings = self.session.findings
        study = self.session.study
        if not self._pending_flush or stroke is None or findings is None or study is None:
            self._pending_flush = False
            return ()
        self._pending_flush = False
        new_findings, levels = findings_with_edited_masks(findings, [stroke.live], study)
        stroke.applied = True
        stroke.remeasured.update(levels)
        self.session.apply_findings_edit(new_findings, levels)
        return levels

    def end_stroke(self) -> MaskStroke | None:
        """Finish the stroke: flush, and keep it for undo when it changed any pixel."""
        stroke = self._stroke
        if stroke is None:
            return None
        self.flush()
        self._stroke = None
        changed = np.flatnonzero(stroke.before_pixels.reshape(-1) != stroke.live.mask.reshape(-1))
        findings = self.session.findings
        if changed.size == 0 or findings is None:
            if stroke.applied and stroke.mask_before is not stroke.live and findings is not None:
                # Painted and erased back to what it was: the analysis' mask and numbers return.
                self._restore(stroke.mask_before, stroke.key, list(stroke.levels_before.values()))
            self._emit_history()
            return None
        diff = SliceMaskDiff(
            key=stroke.key,
            indices=changed.astype(np.int64),
            old_values=stroke.before_pixels.reshape(-1)[changed].copy(),
            new_values=stroke.live.mask.reshape(-1)[changed].copy(),
        )
        after = {f.level: f for f in findings.findings}
        done = MaskStroke(
            tool=self._tool,
            structure=stroke.key[3],
            diffs=(diff,),
            masks_before=((stroke.key, stroke.mask_before),),
            masks_after=((stroke.key, stroke.live),),
            levels_before=tuple(stroke.levels_before[level] for level in sorted(stroke.remeasured)),
            levels_after=tuple(after[level] for level in sorted(stroke.remeasured)),
        )
        self._undo.append(done)
        del self._undo[:-UNDO_LIMIT]
        self._redo.clear()
        self._emit_history()
        return done

    def _restore(self, mask: SliceMask | None, key: MaskKey, levels: list[LevelFinding]) -> None:
        """Put `mask` (None: no mask) at `key` and the given level findings into the session."""
        findings = self.session.findings
        assert findings is not None
        masks = [m for m in findings.masks if mask_key(m) != key]
        if mask is not None:
            position = next((i for i, m in enumerate(findings.masks) if mask_key(m) == key), len(masks))
            masks.insert(position, mask)
        by_level = {f.level: f for f in levels}
        restored = replace(
            findings,
            masks=tuple(masks),
            findings=tuple(by_level.get(f.level, f) for f in findings.findings),
        )
        self.session.apply_findings_edit(restored, tuple(f.level for f in levels))

    def undo(self) -> MaskStroke | None:
        """Take back the last stroke (its pixels, masks and level numbers); the views go to its slice."""
        if not self.can_undo:
            return None
        stroke = self._undo.pop()
        self._apply(stroke, forward=False)
        self._redo.append(stroke)
        self._emit_history()
        return stroke

    def redo(self) -> MaskStroke | None:
        if not self.can_redo:
            return None
        stroke = self._redo.pop()
        self._apply(stroke, forward=True)
        self._undo.append(stroke)
        self._emit_history()
        return stroke

    def _apply(self, stroke: MaskStroke, forward: bool) -> None:
        masks = dict(stroke.masks_after)
        for diff in stroke.diffs:
            live = masks[diff.key]
            live.mask.reshape(-1)[diff.indices] = diff.new_values if forward else diff.old_values
        targets = stroke.masks_after if forward else stroke.masks_before
        levels = list(stroke.levels_after if forward else stroke.levels_before)
        for key, mask in targets:
            self._restore(mask, key, levels)
        self._show_slice(stroke.diffs[0].key)

    def _show_slice(self, key: MaskKey) -> None:
        """Bring a view showing the edited series to the edited slice, so the change is seen."""
        series_uid, sop_uid, frame_index, _ = key
        for slot in ViewSlot:
            series = self.session.series_in(slot)
            if series is None or series.series_instance_uid != series_uid:
                continue
            try:
                self.session.set_slice(slot, series.slice_index_by_uid(sop_uid, frame_index))
            except KeyError:
                continue
            return

    # ---- work off the GUI thread ---------------------------------------------------------

    def snapshot_findings(self) -> StudyFindings | None:
        """The session's findings with their masks copied: safe to hand to another thread."""
        self.flush()
        findings = self.session.findings
        if findings is None:
            return None
        return replace(findings, masks=tuple(replace(m, mask=m.mask.copy()) for m in findings.masks))

    def close(self) -> None:
        for emitter, callback in self._subscriptions:
            emitter.disconnect(callback)

"""One viewer pane: a VTK render window showing the current slice of one view slot of the
session, with its overlays, cross-reference lines, level labels and annotations.

Each slice is drawn in its own 2D image coordinates: world x = column * column spacing,
world y = row * row spacing (mm), z = 0, seen by a parallel camera looking along +z with
row 0 at the top. Clicks go widget -> display (device pixels) -> world -> (row, column) ->
patient space through the slice's own SliceGeometry, so angled stacks and HiDPI screens need
no special case. The view keeps only presentation state (camera, drag in progress); everything
clinical lives in the session. With the brush or eraser chosen (`MaskEditor`), a left drag paints
the selected structure; the brush outline follows the cursor as a circle of its size in mm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum, auto

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QWidget
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkRegularPolygonSource
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkImageActor,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkTextActor,
    vtkWindowToImageFilter,
)

from engine.study.model import Study
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import EditTool, MaskEditor
from lss_desktop.orientation_labels import edge_labels
from lss_desktop.overlays import compose_masks_rgba, explanation_rgba
from lss_desktop.session import ViewChange, ViewerSession
from lss_desktop.theme import SLOT_COLOURS, VIEW_BACKGROUND
from lss_desktop.vtk_qt import QVTKRenderWindowInteractor
from lss_desktop.windowing import WindowLevel, auto_window, dragged_window

logger = logging.getLogger(__name__)

# Depth of each layer along the camera axis (the camera sits at negative z, nearer is more negative).
_Z_EXPLANATION = -1.0
_Z_MASKS = -2.0
_Z_CROSS_REFERENCE = -3.0
_Z_LEVEL_LABELS = -4.0
_Z_BRUSH = -5.0
_CAMERA_DISTANCE = 1000.0
_FIT_MARGIN = 1.02
_LABEL_GRAB_RADIUS_PX = 12.0  # logical pixels around a level marker that start a drag
_ZOOM_STEP = 1.15
_FOLLOW_DELAY_MS = 30
_LABEL_RING_MM = 3.5  # about a third of a lumbar disc's height
_LABEL_COLOUR = (0.55, 0.85, 1.0)
_SELECTED_LABEL_COLOUR = (1.0, 0.78, 0.2)
_TEXT_COLOUR = (0.86, 0.88, 0.9)
_ORIENTATION_COLOUR = (1.0, 0.78, 0.35)
_BRUSH_COLOUR = (1.0, 1.0, 1.0)
_ERASER_COLOUR = (1.0, 0.45, 0.45)


class _Drag(Enum):
    NONE = auto()
    LOCATE = auto()
    WINDOW = auto()
    PAN = auto()
    ZOOM = auto()
    LEVEL_LABEL = auto()
    PAINT = auto()


@dataclass
class _DragState:
    kind: _Drag = _Drag.NONE
    start_widget: QPointF | None = None
    start_window: WindowLevel | None = None
    start_focal: tuple[float, float] | None = None
    start_scale: float = 1.0
    level: str | None = None
    label_rc: tuple[float, float] | None = None


def _numpy_image(pixels: np.ndarray, spacing: tuple[float, float], z: float = 0.0) -> vtkImageData:
    """vtkImageData over a (rows, columns[, components]) array without copying; keep `pixels` alive."""
    rows, columns = pixels.shape[:2]
    components = 1 if pixels.ndim == 2 else pixels.shape[2]
    image = vtkImageData()
    image.SetDimensions(columns, rows, 1)
    image.SetSpacing(spacing[1], spacing[0], 1.0)
    image.SetOrigin(0.0, 0.0, z)
    scalars = numpy_to_vtk(np.ascontiguousarray(pixels).reshape(rows * columns, components), deep=False)
    image.GetPointData().SetScalars(scalars)
    return image


def _text_actor(size: int, colour: tuple[float, float, float], bold: bool = False) -> vtkTextActor:
    actor = vtkTextActor()
    prop = actor.GetTextProperty()
    prop.SetFontFamilyToArial()
    prop.SetFontSize(size)
    prop.SetColor(*colour)
    prop.SetBold(bold)
    prop.SetShadow(True)
    prop.SetShadowOffset(1, -1)
    actor.GetPositionCoordinate().SetCoordinateSystemToDisplay()
    return actor


class SliceView(QVTKRenderWindowInteractor):
    """The VTK pane of one view slot. Renders on request (coalesced), like pyvistaqt."""

    image_rendered = Signal(str, int)  # (Series.key, slice index) after a slice is on screen
    activated = Signal(object)  # ViewSlot, when the user clicks into the view

    def __init__(
        self,
        session: ViewerSession,
        slot: ViewSlot,
        parent: QWidget | None = None,
        editor: MaskEditor | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.slot = slot
        self.editor = editor
        self._closed = False
        self._drag = _DragState()
        self._wheel_remainder = 0
        self._shown_key: tuple[str, int] | None = None  # (Series.key, slice index) on screen
        self.decode_error: str | None = None  # why the current slice shows no image
        self._image_shape: tuple[int, int] | None = None
        self._spacing = (1.0, 1.0)
        self._dirty: set[str] = {"image", "overlays", "lines", "labels", "annotations"}
        self._fit_pending = True
        self._camera_is_fit = True
        self._keep_alive: dict[str, np.ndarray] = {}
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 160)

        self.renderer = vtkRenderer()
        self.renderer.SetBackground(*VIEW_BACKGROUND)
        self.GetRenderWindow().AddRenderer(self.renderer)
        self.GetRenderWindow().SetMultiSamples(0)
        camera = self.renderer.GetActiveCamera()
        camera.ParallelProjectionOn()
        camera.SetViewUp(0.0, -1.0, 0.0)

        self.image_actor = vtkImageActor()
        self.image_actor.GetProperty().SetInterpolationTypeToLinear()
        self.image_actor.VisibilityOff()
        self.mask_actor = vtkImageActor()
        self.mask_actor.GetProperty().SetInterpolationTypeToNearest()
        self.mask_actor.VisibilityOff()
        self.explanation_actor = vtkImageActor()
        self.explanation_actor.GetProperty().SetInterpolationTypeToLinear()
        self.explanation_actor.VisibilityOff()
        for image_actor in (self.image_actor, self.explanation_actor, self.mask_actor):
            self.renderer.AddViewProp(image_actor)

        self._line_actors: dict[ViewSlot, vtkActor] = {}
        self._label_markers: list[vtkActor] = []
        self._label_texts: list[tuple[vtkTextActor, tuple[float, float]]] = []
        self.corner_texts = {corner: _text_actor(11, _TEXT_COLOUR) for corner in ("ul", "ur", "ll", "lr")}
        self.edge_texts = {
            edge: _text_actor(14, _ORIENTATION_COLOUR, bold=True) for edge in ("l", "r", "t", "b")
        }
        self.placeholder_text = _text_actor(13, (0.55, 0.58, 0.62))
        for actor in (*self.corner_texts.values(), *self.edge_texts.values(), self.placeholder_text):
            self.renderer.AddViewProp(actor)

        self._brush_source = vtkRegularPolygonSource()
        self._brush_source.SetNumberOfSides(48)
        self._brush_source.GeneratePolygonOff()
        brush_mapper = vtkPolyDataMapper()
        brush_mapper.SetInputConnection(self._brush_source.GetOutputPort())
        self.brush_actor = vtkActor()
        self.brush_actor.SetMapper(brush_mapper)
        self.brush_actor.GetProperty().LightingOff()
        self.brush_actor.VisibilityOff()
        self.renderer.AddViewProp(self.brush_actor)

        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self.render_now)

        events = session.events
        self._subscriptions = (
            (events.study_changed, self._on_study_changed),
            (events.view_changed, self._on_view_changed),
            (events.findings_changed, self._on_overlays_changed),
            (events.findings_edited, self._on_overlays_changed),
            (events.masks_painted, self._on_masks_painted),
            (events.prompt_masks_changed, self._on_overlays_changed),
            (events.overlay_settings_changed, self._on_overlays_changed),
            (events.level_labels_changed, self._on_labels_changed),
            (events.selection_changed, self._on_labels_changed),
            (events.anonymised_changed, self._on_anonymised_changed),
        )
        if editor is not None:
            self._subscriptions += ((editor.events.tool_changed, self._on_tool_changed),)
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)

    @property
    def shown_key(self) -> tuple[str, int] | None:
        """(Series.key, slice index) of the slice last rendered, or None when empty."""
        return self._shown_key

    # ---- session events ------------------------------------------------------------------

    def _on_study_changed(self, _study: Study | None) -> None:
        self._mark_dirty("image", "overlays", "lines", "labels", "annotations")

    def _on_view_changed(self, slot: ViewSlot, change: ViewChange) -> None:
        if slot is self.slot:
            if change is ViewChange.SERIES:
                self._fit_pending = True
            if change is ViewChange.WINDOW:
                self._mark_dirty("window", "annotations")
            else:
                self._mark_dirty("image", "overlays", "lines", "labels", "annotations")
        elif change is not ViewChange.WINDOW:
            self._mark_dirty("lines")

    def _on_overlays_changed(self, *_args: object) -> None:
        self._mark_dirty("overlays", "labels")

    def _on_masks_painted(self, series_uid: str, slice_key: str) -> None:
        series, image = self.session.series_in(self.slot), self.session.current_slice(self.slot)
        if (
            series is not None
            and image is not None
            and (series.series_instance_uid, image.key)
            == (
                series_uid,
                slice_key,
            )
        ):
            self._mark_dirty("overlays")

    def _on_tool_changed(self, tool: EditTool, _size_mm: float, _structure: str) -> None:
        if tool is EditTool.NAVIGATE and self.brush_actor.GetVisibility():
            self.brush_actor.VisibilityOff()
            self.request_render()

    def _on_labels_changed(self, *_args: object) -> None:
        self._mark_dirty("labels")

    def _on_anonymised_changed(self, _anonymised: bool) -> None:
        self._mark_dirty("annotations")

    def _mark_dirty(self, *parts: str) -> None:
        self._dirty.update(parts)
        # Another view's cross-reference line may lag a frame: while the user scrolls that view,
        # this one redraws at most every _FOLLOW_DELAY_MS instead of on every step.
        self.request_render(_FOLLOW_DELAY_MS if self._dirty <= {"lines"} else 0)

    # ---- rendering -----------------------------------------------------------------------

    def request_render(self, delay_ms: int = 0) -> None:
        """Schedule one render within `delay_ms`; many requests make one render."""
        if self._closed:
            return
        timer = self._render_timer
        if not timer.isActive() or timer.remainingTime() > delay_ms:
            timer.start(delay_ms)

    def render_now(self) -> None:
        """Apply pending state changes and render immediately."""
        if self._closed:
            return
        self._render_timer.stop()
        dirty, self._dirty = self._dirty, set()
        if "image" in dirty:
            self._update_image()
        if "image" in dirty or "window" in dirty:
            self._update_window()
        if "overlays" in dirty:
            self._update_overlays()
        if "lines" in dirty:
            self._update_cross_reference_lines()
        if "labels" in dirty:
            self._update_level_labels()
        if self._fit_pending and self._image_shape is not None and self.width() > 0:
            self.reset_camera()
        if "annotations" in dirty:
            self._update_annotations()
        self._place_screen_texts()
        self.GetRenderWindow().Render()
        if "image" in dirty and self._shown_key is not None:
            self.image_rendered.emit(*self._shown_key)

    def _update_image(self) -> None:
        series = self.session.series_in(self.slot)
        self.decode_error = None
        if series is None:
            self.image_actor.VisibilityOff()
            self._shown_key = None
            self._image_shape = None
            self._keep_alive.pop("image", None)
            return
        index = self.session.view(self.slot).slice_index
        self._shown_key = (series.key, index)
        try:
            pixels = self.session.current_pixels(self.slot)
        except Exception as exc:  # a damaged file shows a message in its pane; the rest goes on
            logger.warning(
                "slice %d of the %s view could not be decoded: %s", index + 1, self.slot.value, exc
            )
            self.decode_error = (
                f"Image {index + 1} could not be decoded\n{series.slices[index].source_path.name}: {exc}"
            )
            self.image_actor.VisibilityOff()
            self._image_shape = None
            self._keep_alive.pop("image", None)
            return
        assert pixels is not None
        self.decode_error = None
        if self.session.view(self.slot).window is None:
            self.session.set_window(self.slot, auto_window(pixels))
        geometry = series.slices[index].geometry
        spacing = geometry.pixel_spacing_mm if geometry is not None else (1.0, 1.0)
        self._image_shape = (int(pixels.shape[0]), int(pixels.shape[1]))
        self._spacing = (float(spacing[0]), float(spacing[1]))
        self._keep_alive["image"] = pixels
        self.image_actor.SetInputData(_numpy_image(pixels, self._spacing))
        self.image_actor.VisibilityOn()

    def _update_window(self) -> None:
        window = self.session.view(self.slot).window
        if window is not None:
            prop = self.image_actor.GetProperty()
            prop.SetColorWindow(window.width)
            prop.SetColorLevel(window.centre)

    def _set_overlay(self, actor: vtkImageActor, name: str, rgba: np.ndarray | None, z: float) -> None:
        if rgba is None or self._image_shape is None:
            actor.VisibilityOff()
            self._keep_alive.pop(name, None)
            return
        self._keep_alive[name] = rgba
        actor.SetInputData(_numpy_image(rgba, self._spacing, z))
        actor.VisibilityOn()

    def _update_overlays(self) -> None:
        settings = self.session.overlay_settings
        shape = self._image_shape
        masks = compose_masks_rgba(self.session.masks_on(self.slot), shape, settings) if shape else None
        self._set_overlay(self.mask_actor, "masks", masks, _Z_MASKS)
        heat = self.session.explanation_on(self.slot)
        heat_rgba = explanation_rgba(heat, settings) if heat is not None and heat.shape == shape else None
        self._set_overlay(self.explanation_actor, "explanation", heat_rgba, _Z_EXPLANATION)

    def _world_xy(self, row: float, column: float) -> tuple[float, float]:
        return column * self._spacing[1], row * self._spacing[0]

    def _update_cross_reference_lines(self) -> None:
        for actor in self._line_actors.values():
            self.renderer.RemoveViewProp(actor)
        self._line_actors.clear()
        if self.session.series_in(self.slot) is None:
            return
        for line in self.session.cross_reference_lines(self.slot):
            points = vtkPoints()
            for row, column in line.segment:
                points.InsertNextPoint(*self._world_xy(row, column), _Z_CROSS_REFERENCE)
            cells = vtkCellArray()
            cells.InsertNextCell(2)
            cells.InsertCellPoint(0)
            cells.InsertCellPoint(1)
            poly = vtkPolyData()
            poly.SetPoints(points)
            poly.SetLines(cells)
            mapper = vtkPolyDataMapper()
            mapper.SetInputData(poly)
            actor = vtkActor()
            actor.SetMapper(mapper)
            actor.GetProperty().SetColor(*SLOT_COLOURS[line.source])
            actor.GetProperty().SetLineWidth(1.0 * self._device_scale())
            actor.GetProperty().SetOpacity(0.85)
            actor.GetProperty().LightingOff()
            self.renderer.AddViewProp(actor)
            self._line_actors[line.source] = actor

    def _update_level_labels(self) -> None:
        for marker in self._label_markers:
            self.renderer.RemoveViewProp(marker)
        for text, _ in self._label_texts:
            self.renderer.RemoveViewProp(text)
        self._label_markers.clear()
        self._label_texts.clear()
        if not self.session.overlay_settings.show_level_labels:
            return
        for placed in self.session.level_labels_on(self.slot):
            rc = (placed.row, placed.column)
            if self._drag.kind is _Drag.LEVEL_LABEL and self._drag.level == placed.level.label:
                rc = self._drag.label_rc or rc
            selected = placed.level.label == self.session.selected_level
            colour = _SELECTED_LABEL_COLOUR if selected else _LABEL_COLOUR
            ring = vtkRegularPolygonSource()
            ring.SetNumberOfSides(24)
            ring.SetRadius(_LABEL_RING_MM)
            ring.GeneratePolygonOff()
            ring.SetCenter(*self._world_xy(*rc), _Z_LEVEL_LABELS)
            mapper = vtkPolyDataMapper()
            mapper.SetInputConnection(ring.GetOutputPort())
            marker = vtkActor()
            marker.SetMapper(mapper)
            marker.GetProperty().SetColor(*colour)
            marker.GetProperty().SetLineWidth(2.0 * self._device_scale())
            marker.GetProperty().LightingOff()
            self.renderer.AddViewProp(marker)
            self._label_markers.append(marker)
            text = _text_actor(12, colour, bold=True)
            text.SetInput(placed.level.label)
            text.GetTextProperty().SetJustificationToRight()
            text.GetTextProperty().SetVerticalJustificationToCentered()
            text.GetTextProperty().SetBackgroundColor(0.0, 0.0, 0.0)
            text.GetTextProperty().SetBackgroundOpacity(0.55)
            text.GetTextProperty().SetShadow(False)
            self.renderer.AddViewProp(text)
            self._label_texts.append((text, rc))

    def _update_annotations(self) -> None:
        series = self.session.series_in(self.slot)
        image = self.session.current_slice(self.slot)
        study = self.session.study
        for actor in (*self.corner_texts.values(), *self.edge_texts.values()):
            actor.SetInput("")
        if series is None or image is None or study is None:
            self.placeholder_text.SetInput(
                "Drop a series here"
                if study is not None
                else "No study open\n\nFile > Open folder (Ctrl+O)\nHelp > Open demo study"
            )
            return
        self.placeholder_text.SetInput(self.decode_error or "")
        view = self.session.view(self.slot)
        if self.session.anonymised:
            self.corner_texts["ul"].SetInput("Anonymised")
        else:
            patient = study.patient
            lines = [
                patient.name.replace("^", " ").strip(),
                patient.patient_id,
                _dicom_date(patient.birth_date),
            ]
            self.corner_texts["ul"].SetInput("\n".join(line for line in lines if line))
        number = f"Se {series.series_number}  " if series.series_number is not None else ""
        self.corner_texts["ur"].SetInput(
            "\n".join(
                line
                for line in (
                    series.description or "(no description)",
                    f"{number}{series.sequence.value} {series.orientation.value}",
                    _dicom_date(study.study_date),
                )
                if line
            )
        )
        position = ""
        if image.geometry is not None:
            position = f"Pos {image.geometry.position_along_normal_mm:.1f} mm"
            if image.geometry.slice_thickness_mm:
                position += f"  Th {image.geometry.slice_thickness_mm:.1f} mm"
            labels = edge_labels(image.geometry)
            for key, letters in zip(
                ("l", "r", "t", "b"), (labels.left, labels.right, labels.top, labels.bottom), strict=True
            ):
                self.edge_texts[key].SetInput(letters)
        self.corner_texts["ll"].SetInput(f"Im {view.slice_index + 1} / {len(series)}\n{position}".rstrip())
        window = view.window.label() if view.window is not None else ""
        self.corner_texts["lr"].SetInput(f"{window}\nZoom {self.zoom_percent():.0f} %")

    def _place_screen_texts(self) -> None:
        """Put corner, edge and label texts at their device-pixel positions for this camera."""
        width, height = self.GetRenderWindow().GetSize()
        margin = 8 * self._device_scale()
        placements = {
            "ul": (margin, height - margin, "left", "top"),
            "ur": (width - margin, height - margin, "right", "top"),
            "ll": (margin, margin, "left", "bottom"),
            "lr": (width - margin, margin, "right", "bottom"),
        }
        for key, (x, y, horizontal, vertical) in placements.items():
            _place(self.corner_texts[key], x, y, horizontal, vertical)
        gap = 4 * self._device_scale()
        # A narrow pane: the right-hand corner blocks move below (above) the left-hand ones.
        ul, ur = self._text_box("ul"), self._text_box("ur")
        if ul is not None and ur is not None and ul[1] + gap > ur[0]:
            _place(self.corner_texts["ur"], width - margin, ul[2] - gap, "right", "top")
        ll, lr = self._text_box("ll"), self._text_box("lr")
        if ll is not None and lr is not None and ll[1] + gap > lr[0]:
            _place(self.corner_texts["lr"], width - margin, ll[3] + gap, "right", "bottom")
        edges = {
            "l": (margin, height / 2, "left", "centered"),
            "r": (width - margin, height / 2, "right", "centered"),
            "t": (width / 2, height - margin, "centered", "top"),
            "b": (width / 2, margin, "centered", "bottom"),
        }
        for key, (x, y, horizontal, vertical) in edges.items():
            _place(self.edge_texts[key], x, y, horizontal, vertical)
        self._clear_edge_letters_of_corner_texts(width, gap)
        _place(self.placeholder_text, width / 2, height / 2, "centered", "centered")
        # Labels sit left of their ring (anterior on a standard sagittal), clear of the canal.
        offset = _LABEL_RING_MM * self._pixels_per_mm() + 6.0 * self._device_scale()
        for text, (row, column) in self._label_texts:
            x, y = self._image_to_display(row, column)
            text.GetPositionCoordinate().SetValue(x - offset, y, 0.0)

    def _text_box(self, corner: str) -> tuple[float, float, float, float] | None:
        """(x min, x max, y min, y max) in device pixels of a corner text, None when empty."""
        actor = self.corner_texts[corner]
        if not actor.GetInput():
            return None
        return _screen_box(actor, self.renderer)

    def _clear_edge_letters_of_corner_texts(self, width: float, gap: float) -> None:
        """Move the top and bottom orientation letters inward, clear of the corner texts that
        reach the middle of a narrow pane."""
        for edge, corners in (("t", ("ul", "ur")), ("b", ("ll", "lr"))):
            letters = self.edge_texts[edge]
            if not letters.GetInput():
                continue
            box = _screen_box(letters, self.renderer)
            in_the_way = [
                b
                for corner in corners
                if (b := self._text_box(corner)) is not None and b[0] < box[1] + gap and b[1] > box[0] - gap
            ]
            if not in_the_way:
                continue
            if edge == "t":
                _place(letters, width / 2, min(b[2] for b in in_the_way) - gap, "centered", "top")
            else:
                _place(letters, width / 2, max(b[3] for b in in_the_way) + gap, "centered", "bottom")

    # ---- camera --------------------------------------------------------------------------

    def _device_scale(self) -> float:
        """Device pixels per logical pixel, as the render window was actually sized."""
        width = self.GetRenderWindow().GetSize()[0]
        return width / self.width() if self.width() > 0 and width > 0 else self.devicePixelRatioF()

    def _pixels_per_mm(self) -> float:
        height = self.GetRenderWindow().GetSize()[1]
        scale = self.renderer.GetActiveCamera().GetParallelScale()
        return height / (2.0 * scale) if scale > 0 else 1.0

    def _fit_scale(self) -> float:
        if self._image_shape is None:
            return 1.0
        rows, columns = self._image_shape
        height_mm, width_mm = rows * self._spacing[0], columns * self._spacing[1]
        width_px, height_px = self.GetRenderWindow().GetSize()
        aspect = width_px / height_px if height_px > 0 else 1.0
        return _FIT_MARGIN * max(height_mm / 2.0, width_mm / (2.0 * aspect))

    def reset_camera(self) -> None:
        """Fit the whole image into the pane, centred (zoom 100 %)."""
        self._fit_pending = False
        if self._image_shape is None:
            return
        rows, columns = self._image_shape
        cx, cy = self._world_xy((rows - 1) / 2.0, (columns - 1) / 2.0)
        self._set_camera(cx, cy, self._fit_scale())
        self._camera_is_fit = True
        self._dirty.add("annotations")

    def _set_camera(self, cx: float, cy: float, parallel_scale: float) -> None:
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(cx, cy, 0.0)
        camera.SetPosition(cx, cy, -_CAMERA_DISTANCE)
        camera.SetViewUp(0.0, -1.0, 0.0)
        camera.SetParallelScale(parallel_scale)
        self.renderer.ResetCameraClippingRange(-1e6, 1e6, -1e6, 1e6, -10.0, 10.0)

    def zoom_percent(self) -> float:
        scale = self.renderer.GetActiveCamera().GetParallelScale()
        return 100.0 * self._fit_scale() / scale if scale > 0 else 100.0

    def zoom_by(self, factor: float, anchor_widget: QPointF | None = None) -> None:
        """Zoom in by `factor` (>1 enlarges), keeping the point under `anchor_widget` still."""
        camera = self.renderer.GetActiveCamera()
        fx, fy, _ = camera.GetFocalPoint()
        scale = camera.GetParallelScale()
        if anchor_widget is not None:
            ax, ay = self._widget_to_world(anchor_widget)
            fx, fy = ax + (fx - ax) / factor, ay + (fy - ay) / factor
        self._set_camera(fx, fy, scale / factor)
        self._camera_is_fit = False
        self._mark_dirty("annotations")

    def pan_to(self, focal: tuple[float, float]) -> None:
        """Centre the pane on a world point (mm in image coordinates)."""
        self._set_camera(*focal, self.renderer.GetActiveCamera().GetParallelScale())
        self._camera_is_fit = False
        self.request_render()

    # ---- coordinates ---------------------------------------------------------------------

    def _widget_to_display(self, pos: QPointF) -> tuple[float, float]:
        scale = self._device_scale()
        height = self.GetRenderWindow().GetSize()[1]
        return (pos.x() + 0.5) * scale, height - (pos.y() + 0.5) * scale

    def _widget_to_world(self, pos: QPointF) -> tuple[float, float]:
        x, y = self._widget_to_display(pos)
        self.renderer.SetDisplayPoint(x, y, 0.0)
        self.renderer.DisplayToWorld()
        wx, wy, _, w = self.renderer.GetWorldPoint()
        return (wx / w, wy / w) if w else (wx, wy)

    def _image_to_display(self, row: float, column: float) -> tuple[float, float]:
        x, y = self._world_xy(row, column)
        self.renderer.SetWorldPoint(x, y, 0.0, 1.0)
        self.renderer.WorldToDisplay()
        dx, dy, _ = self.renderer.GetDisplayPoint()
        return dx, dy

    def widget_to_image(self, pos: QPointF) -> tuple[float, float]:
        """(row, column) pixel indices (fractional) of the slice under a widget position."""
        x, y = self._widget_to_world(pos)
        return y / self._spacing[0], x / self._spacing[1]

    def image_to_widget(self, row: float, column: float) -> QPointF:
        """Widget (logical pixel) position of a slice pixel index; inverse of widget_to_image."""
        x, y = self._image_to_display(row, column)
        scale = self._device_scale()
        height = self.GetRenderWindow().GetSize()[1]
        return QPointF(x / scale - 0.5, (height - y) / scale - 0.5)

    def _inside_image(self, row: float, column: float) -> bool:
        if self._image_shape is None:
            return False
        return -0.5 <= row <= self._image_shape[0] - 0.5 and -0.5 <= column <= self._image_shape[1] - 0.5

    def _label_under(self, pos: QPointF) -> tuple[str, tuple[float, float]] | None:
        best: tuple[float, str, tuple[float, float]] | None = None
        for placed in self.session.level_labels_on(self.slot):
            marker = self.image_to_widget(placed.row, placed.column)
            distance = float(np.hypot(marker.x() - pos.x(), marker.y() - pos.y()))
            if distance <= _LABEL_GRAB_RADIUS_PX and (best is None or distance < best[0]):
                best = (distance, placed.level.label, (placed.row, placed.column))
        return None if best is None else (best[1], best[2])

    # ---- mouse and keyboard --------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.activated.emit(self.slot)
        if self.session.series_in(self.slot) is None:
            return
        pos = event.position()
        camera = self.renderer.GetActiveCamera()
        fx, fy, _ = camera.GetFocalPoint()
        self._drag = _DragState(
            start_widget=pos,
            start_window=self.session.view(self.slot).window,
            start_focal=(fx, fy),
            start_scale=camera.GetParallelScale(),
        )
        button, modifiers = event.button(), event.modifiers()
        if button == Qt.MouseButton.RightButton:
            self._drag.kind = _Drag.WINDOW
        elif button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and modifiers & Qt.KeyboardModifier.ShiftModifier
        ):
            self._drag.kind = _Drag.PAN
        elif button == Qt.MouseButton.LeftButton and modifiers & Qt.KeyboardModifier.ControlModifier:
            self._drag.kind = _Drag.ZOOM
        elif button == Qt.MouseButton.LeftButton and self.editor is not None and self.editor.painting:
            if self.editor.begin_stroke(self.slot):
                self._drag.kind = _Drag.PAINT
                self._paint_at(pos)
        elif button == Qt.MouseButton.LeftButton:
            grabbed = self._label_under(pos) if self.session.overlay_settings.show_level_labels else None
            if grabbed is not None:
                self._drag.kind = _Drag.LEVEL_LABEL
                self._drag.level, self._drag.label_rc = grabbed
                self.session.select_level(grabbed[0])
            else:
                self._drag.kind = _Drag.LOCATE
                self._locate_at(pos)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        drag = self._drag
        self._place_brush(pos)
        if drag.kind is _Drag.PAINT:
            self._paint_at(pos)
            return
        if drag.kind is _Drag.NONE or drag.start_widget is None:
            hovering = self.session.overlay_settings.show_level_labels and self._label_under(pos) is not None
            self.setCursor(Qt.CursorShape.OpenHandCursor if hovering else Qt.CursorShape.CrossCursor)
            return
        dx = pos.x() - drag.start_widget.x()
        dy = pos.y() - drag.start_widget.y()
        if drag.kind is _Drag.WINDOW and drag.start_window is not None:
            self.session.set_window(self.slot, dragged_window(drag.start_window, dx, -dy))
        elif drag.kind is _Drag.PAN and drag.start_focal is not None:
            mm_per_px = drag.start_scale * 2.0 / max(self.height(), 1)
            self.pan_to((drag.start_focal[0] - dx * mm_per_px, drag.start_focal[1] - dy * mm_per_px))
        elif drag.kind is _Drag.ZOOM and drag.start_focal is not None:
            factor = _ZOOM_STEP ** (-dy / 20.0)
            self._set_camera(*drag.start_focal, drag.start_scale / factor)
            self._camera_is_fit = False
            self._mark_dirty("annotations")
        elif drag.kind is _Drag.LOCATE:
            self._locate_at(pos)
        elif drag.kind is _Drag.LEVEL_LABEL:
            row, column = self.widget_to_image(pos)
            if self._inside_image(row, column):
                drag.label_rc = (row, column)
                self._mark_dirty("labels")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, _DragState()
        if drag.kind is _Drag.PAINT and self.editor is not None:
            self.editor.end_stroke()
            return
        if drag.kind is _Drag.LEVEL_LABEL and drag.level is not None and drag.label_rc is not None:
            geometry = self.session.current_geometry(self.slot)
            moved = (
                drag.start_widget is not None and (event.position() - drag.start_widget).manhattanLength() > 2
            )
            if geometry is not None and moved:
                self.session.move_level_label(drag.level, geometry.pixel_to_lps(*drag.label_rc))
            self._mark_dirty("labels")

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.session.series_in(self.slot) is None:
            return
        self._wheel_remainder += event.angleDelta().y()
        steps = int(self._wheel_remainder / 120)
        if steps == 0:
            return
        self._wheel_remainder -= steps * 120
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(_ZOOM_STEP**steps, event.position())
        else:
            # Wheel away from the user goes to the previous image, as in PACS viewers.
            self.session.scroll(self.slot, -steps)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        steps = {
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_Right: 1,
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_Left: -1,
            Qt.Key.Key_PageDown: 5,
            Qt.Key.Key_PageUp: -5,
        }
        if key in steps:
            self.session.scroll(self.slot, steps[key])
        elif key == Qt.Key.Key_Home:
            self.session.set_slice(self.slot, 0)
        elif key == Qt.Key.Key_End:
            series = self.session.series_in(self.slot)
            if series is not None:
                self.session.set_slice(self.slot, len(series) - 1)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(_ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1.0 / _ZOOM_STEP)
        elif key == Qt.Key.Key_R:
            self.reset_view()
        elif key == Qt.Key.Key_A:
            self.session.auto_window(self.slot)
        elif key in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight) and self.editor is not None:
            step = 0.5 if key == Qt.Key.Key_BracketRight else -0.5
            self.editor.set_size_mm(self.editor.size_mm + step)
            self._place_brush(self.mapFromGlobal(self.cursor().pos()).toPointF())
        else:
            QWidget.keyPressEvent(self, event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        QWidget.keyReleaseEvent(self, event)

    def enterEvent(self, event: object) -> None:
        self.setCursor(Qt.CursorShape.CrossCursor)

    def leaveEvent(self, event: object) -> None:
        self.unsetCursor()
        if self.brush_actor.GetVisibility():
            self.brush_actor.VisibilityOff()
            self.request_render()

    # ---- painting masks ------------------------------------------------------------------

    def _paint_at(self, pos: QPointF) -> None:
        """Paint, then re-measure and redraft at once (a few ms); the frame follows in the next
        render, and Qt delivers at most one mouse move per event-loop turn."""
        assert self.editor is not None
        row, column = self.widget_to_image(pos)
        if self.editor.paint(row, column):
            self.editor.flush()

    def _place_brush(self, pos: QPointF) -> None:
        """The brush outline under the cursor: a circle of the brush's diameter in millimetres."""
        editor = self.editor
        painting = editor is not None and editor.painting and self._image_shape is not None
        if not painting:
            if self.brush_actor.GetVisibility():
                self.brush_actor.VisibilityOff()
                self.request_render()
            return
        assert editor is not None
        x, y = self._widget_to_world(pos)
        self._brush_source.SetCenter(x, y, _Z_BRUSH)
        self._brush_source.SetRadius(editor.size_mm / 2.0)
        colour = _BRUSH_COLOUR if editor.tool is EditTool.BRUSH else _ERASER_COLOUR
        self.brush_actor.GetProperty().SetColor(*colour)
        self.brush_actor.GetProperty().SetLineWidth(1.5 * self._device_scale())
        self.brush_actor.VisibilityOn()
        self.request_render()

    def _locate_at(self, pos: QPointF) -> None:
        row, column = self.widget_to_image(pos)
        if self._inside_image(row, column):
            self.session.locate_pixel(self.slot, row, column)

    def reset_view(self) -> None:
        """Fit the image and return to the default window."""
        self.reset_camera()
        self.session.reset_window(self.slot)
        self._mark_dirty("annotations")

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        # A fitted image stays fitted; a zoomed or panned one keeps its camera.
        self._fit_pending = self._fit_pending or self._camera_is_fit
        self._mark_dirty("annotations")

    # ---- capture and lifetime ------------------------------------------------------------

    def capture_rgb(self) -> np.ndarray:
        """The pane as rendered, uint8 (height, width, 3) in device pixels, top row first."""
        self.render_now()
        grabber = vtkWindowToImageFilter()
        grabber.SetInput(self.GetRenderWindow())
        grabber.SetInputBufferTypeToRGB()
        grabber.ReadFrontBufferOff()
        grabber.Update()
        output = grabber.GetOutput()
        width, height, _ = output.GetDimensions()
        pixels = vtk_to_numpy(output.GetPointData().GetScalars()).reshape(height, width, -1)
        return np.ascontiguousarray(pixels[::-1, :, :3])

    def close_view(self) -> None:
        """Unsubscribe from the session and finalize VTK; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._render_timer.stop()
        for emitter, callback in self._subscriptions:
            emitter.disconnect(callback)
        self.Finalize()

    def closeEvent(self, event: object) -> None:
        self.close_view()


def _place(actor: vtkTextActor, x: float, y: float, horizontal: str, vertical: str) -> None:
    prop = actor.GetTextProperty()
    {
        "left": prop.SetJustificationToLeft,
        "right": prop.SetJustificationToRight,
        "centered": prop.SetJustificationToCentered,
    }[horizontal]()
    {
        "top": prop.SetVerticalJustificationToTop,
        "bottom": prop.SetVerticalJustificationToBottom,
        "centered": prop.SetVerticalJustificationToCentered,
    }[vertical]()
    actor.GetPositionCoordinate().SetValue(x, y, 0.0)


def _screen_box(actor: vtkTextActor, renderer: vtkRenderer) -> tuple[float, float, float, float]:
    """(x min, x max, y min, y max) of a placed text in device pixels (VTK gives it relative to
    the text's position)."""
    box = [0.0, 0.0, 0.0, 0.0]
    actor.GetBoundingBox(renderer, box)
    x, y, _ = actor.GetPositionCoordinate().GetValue()
    return x + box[0], x + box[1], y + box[2], y + box[3]


def _dicom_date(value: str) -> str:
    """YYYYMMDD -> YYYY-MM-DD; anything else unchanged."""
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value

"""Screenshots of the whole window. QWidget.grab() leaves VTK panes black, so each visible
pane is painted in from its own render window (vtkWindowToImageFilter)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget

from lss_desktop.slice_view import SliceView


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage (owning its data) of a uint8 (h, w, 3) array."""
    data = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = data.shape
    return QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def capture_window(window: QWidget) -> QImage:
    """The window as the user sees it, in device pixels."""
    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    painter = QPainter(image)
    try:
        for view in window.findChildren(SliceView):
            if not view.isVisible() or view.width() == 0:
                continue
            pane = rgb_to_qimage(view.capture_rgb())
            top_left = view.mapTo(window, QPoint(0, 0))
            painter.drawImage(QRectF(top_left.x(), top_left.y(), view.width(), view.height()), pane)
    finally:
        painter.end()
    return image

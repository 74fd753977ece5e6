"""The series browser: every series of the study with a thumbnail, its description,
orientation, sequence and image count. Drag a series onto a view, or double-click it to show it
in the active view."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from engine.study.model import Study
from lss_desktop.series_text import series_details, series_title
from lss_desktop.session import ViewerSession
from lss_desktop.thumbnails import THUMBNAIL_SIZE
from lss_desktop.view_panel import SERIES_MIME_TYPE

_KEY_ROLE = Qt.ItemDataRole.UserRole


def grey_pixmap(pixels: np.ndarray) -> QPixmap:
    """A QPixmap of a uint8 (h, w) image."""
    data = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = data.shape
    image = QImage(data.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image)


class SeriesBrowser(QListWidget):
    series_activated = Signal(str)  # Series.key, on double-click

    def __init__(self, session: ViewerSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._closed = False
        self.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)
        # Long descriptions wrap inside the dock instead of scrolling it sideways.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSpacing(2)
        self.setUniformItemSizes(False)
        self.itemDoubleClicked.connect(lambda item: self.series_activated.emit(item.data(_KEY_ROLE)))
        session.events.study_changed.connect(self._on_study_changed)
        self._on_study_changed(session.study)

    def _on_study_changed(self, study: Study | None) -> None:
        self.clear()
        placeholder = QPixmap(THUMBNAIL_SIZE, THUMBNAIL_SIZE)
        placeholder.fill(Qt.GlobalColor.black)
        for series in study.series if study is not None else ():
            item = QListWidgetItem(QIcon(placeholder), f"{series_title(series)}\n{series_details(series)}")
            item.setData(_KEY_ROLE, series.key)
            item.setToolTip(f"{series_title(series)}\n{series_details(series)}\nDrag onto a view to show it")
            self.addItem(item)

    def item_for(self, series_key: str) -> QListWidgetItem | None:
        for row in range(self.count()):
            item = self.item(row)
            if item.data(_KEY_ROLE) == series_key:
                return item
        return None

    def set_thumbnail(self, series_key: str, pixels: np.ndarray) -> None:
        item = self.item_for(series_key)
        if item is not None:
            item.setIcon(QIcon(grey_pixmap(pixels)))

    def mimeTypes(self) -> list[str]:
        return [SERIES_MIME_TYPE]

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:
        mime = QMimeData()
        if items:
            mime.setData(SERIES_MIME_TYPE, str(items[0].data(_KEY_ROLE)).encode("utf-8"))
        return mime

    def close_browser(self) -> None:
        if not self._closed:
            self._closed = True
            self.session.events.study_changed.disconnect(self._on_study_changed)

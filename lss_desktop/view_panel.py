"""A viewer pane with its header: the view's colour, a series chooser, window presets and
reset. Series can also be dropped onto it from the series browser."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.study.model import Study
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import MaskEditor
from lss_desktop.series_text import series_details, series_title
from lss_desktop.session import ViewChange, ViewerSession
from lss_desktop.slice_view import SliceView
from lss_desktop.theme import slot_colour_hex
from lss_desktop.windowing import SPINE_PRESETS

SERIES_MIME_TYPE = "application/x-lss-series-key"  # payload: Series.key, UTF-8
_POPUP_PADDING_PX = 40  # the popup's scroll bar and margins beside the longest title


class SeriesCombo(QComboBox):
    """A series chooser for narrow panes: the shown title ("#301 sT2W_TSE_SAG") keeps its series
    number and loses the end of its description ("#301 sT2W_T…") rather than being clipped, and
    the list opens wide enough for whole titles."""

    def shown_text(self) -> str:
        """The current title as painted: elided at its end to the width of the text field."""
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        return self.fontMetrics().elidedText(self.currentText(), Qt.TextElideMode.ElideRight, field.width())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.shown_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def showPopup(self) -> None:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(self.itemText(i)) for i in range(self.count())), default=0)
        self.view().setMinimumWidth(widest + _POPUP_PADDING_PX)
        super().showPopup()


class ViewPanel(QFrame):
    """Header + SliceView for one view slot."""

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
        self._closed = False
        self.setAcceptDrops(True)
        self.setObjectName(f"viewPanel_{slot.value}")

        header = QFrame(self)
        header.setObjectName("viewHeader")
        self.header = header
        strip = QLabel(header)
        strip.setFixedWidth(4)
        strip.setStyleSheet(f"background: {slot_colour_hex(slot)}; border-radius: 2px;")
        self.series_combo = SeriesCombo(header)
        self.series_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.series_combo.setMinimumContentsLength(3)  # three panes and the report fit 1280 px
        self.series_combo.setToolTip("Series shown in this view (or drag one from the series browser)")
        self.series_combo.activated.connect(self._on_combo_activated)

        self.window_button = QToolButton(header)
        self.window_button.setText("W/L")
        self.window_button.setToolTip("Window presets (right-drag in the image to adjust)")
        self.window_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.window_button)
        for preset in SPINE_PRESETS:
            action = QAction(preset.name, menu)
            action.triggered.connect(
                lambda _=False, name=preset.name: session.apply_window_preset(slot, name)
            )
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction("Auto (percentiles)", lambda: session.auto_window(slot))
        menu.addAction("DICOM default", lambda: session.reset_window(slot))
        self.window_button.setMenu(menu)

        reset_button = QToolButton(header)
        reset_button.setText("↺")
        reset_button.setToolTip("Reset: fit the image and restore the default window (R)")
        self.view = SliceView(session, slot, self, editor=editor)
        reset_button.clicked.connect(self.view.reset_view)

        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(6, 3, 6, 3)
        header_layout.setSpacing(6)
        header_layout.addWidget(strip)
        header_layout.addWidget(self.series_combo, 1)
        header_layout.addWidget(self.window_button)
        header_layout.addWidget(reset_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.view, 1)

        self._subscriptions = (
            (session.events.study_changed, self._on_study_changed),
            (session.events.view_changed, self._on_view_changed),
        )
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)
        self._on_study_changed(session.study)

    def set_active(self, active: bool) -> None:
        """Mark the pane that menu and toolbar actions apply to."""
        self.header.setProperty("active", active)
        self.header.style().unpolish(self.header)
        self.header.style().polish(self.header)

    def _on_study_changed(self, study: Study | None) -> None:
        self.series_combo.blockSignals(True)
        self.series_combo.clear()
        self.series_combo.addItem("(empty)", None)
        for series in study.series if study is not None else ():
            self.series_combo.addItem(series_title(series), series.key)
            self.series_combo.setItemData(
                self.series_combo.count() - 1, series_details(series), Qt.ItemDataRole.ToolTipRole
            )
        self.series_combo.blockSignals(False)
        self._select_current()

    def _on_view_changed(self, slot: ViewSlot, change: ViewChange) -> None:
        if slot is self.slot and change is ViewChange.SERIES:
            self._select_current()

    def _select_current(self) -> None:
        index = self.series_combo.findData(self.session.view(self.slot).series_key)
        self.series_combo.blockSignals(True)
        self.series_combo.setCurrentIndex(max(index, 0))
        self.series_combo.blockSignals(False)

    def _on_combo_activated(self, index: int) -> None:
        key = self.series_combo.itemData(index)
        if key != self.session.view(self.slot).series_key:
            self.session.show_series(self.slot, key)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(SERIES_MIME_TYPE):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(SERIES_MIME_TYPE):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        key = bytes(event.mimeData().data(SERIES_MIME_TYPE).data()).decode("utf-8")
        if self.session.study is not None and key:
            self.session.show_series(self.slot, key)
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()

    def close_panel(self) -> None:
        """Unsubscribe and finalize the VTK view; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        for emitter, callback in self._subscriptions:
            emitter.disconnect(callback)
        self.view.close_view()

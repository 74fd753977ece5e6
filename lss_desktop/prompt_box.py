"""The prompt box: free text naming what to segment ("dural sac at L3-L4"), completed from the
prompts the model was trained on, on the active view's slice or a few slices either side. The
window runs the segmentation; the box only asks and shows how it went."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lss_desktop.prompt_segmentation import MAX_HALF_RANGE, prompt_suggestions


class PromptBox(QWidget):
    segment_requested = Signal(str, int)  # (prompt, slices either side of the current one)
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Segment by text, e.g. dural sac at L3-L4")
        self.edit.setClearButtonEnabled(True)
        self.edit.setToolTip(
            "What to segment on the active view's image; the model knows the suggested prompts best"
        )
        completer = QCompleter(prompt_suggestions(), self.edit)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.edit.setCompleter(completer)
        self.edit.returnPressed.connect(self._request)
        self.range_spin = QSpinBox()
        self.range_spin.setRange(0, MAX_HALF_RANGE)
        self.range_spin.setPrefix("± ")
        self.range_spin.setSuffix(" sl")
        self.range_spin.setToolTip("Also segment this many slices either side of the one shown")
        self.segment_button = QPushButton("Segment")
        self.segment_button.setToolTip("Segment the prompt on the active view (Enter)")
        self.segment_button.clicked.connect(self._request)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Remove the masks segmented from prompts")
        self.clear_button.clicked.connect(self.clear_requested.emit)
        self.status = QLabel("")
        self.status.setObjectName("promptStatus")
        self.status.setWordWrap(True)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.edit, 1)
        row.addWidget(self.range_spin)
        row.addWidget(self.segment_button)
        row.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.status)

    def _request(self) -> None:
        text = self.edit.text().strip()
        if not text:
            self.set_status("Type what to segment, e.g. “dural sac at L3-L4”.")
            return
        self.segment_requested.emit(text, self.range_spin.value())

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.segment_button.setEnabled(not busy)
        self.edit.setReadOnly(busy)
        if text:
            self.set_status(text)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

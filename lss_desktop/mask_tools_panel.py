"""Mask editing controls: navigate / brush / eraser, the brush size in millimetres, the structure
painted (chosen in the overlay legend), and the numbers of the level just edited. Undo and redo
are in the toolbar and the Edit menu (Ctrl+Z / Ctrl+Y)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.findings import StudyFindings
from engine.measurements.after_mask_edit import AREA_DISAGREEMENT_WARNING
from engine.reporting.measurement_text import (
    AREA_UNIT,
    LENGTH_UNIT,
    format_ap_diameter,
    format_confidence,
    format_dural_sac_area,
)
from lss_desktop.mask_editing import MAX_BRUSH_MM, MIN_BRUSH_MM, EditTool, MaskEditor
from lss_desktop.overlays import structure_colour
from lss_desktop.session import ViewerSession


def level_measurement_text(findings: StudyFindings, level: str) -> str:
    """Two lines on a level's numbers after an edit, e.g. "L4-L5: dural sac 142 mm², AP 12.1 mm" and
    "grade A agrees with the area · confidence 70 % · on edited mask"."""
    finding = findings.finding_for(level)
    if finding is None:
        return f"{level}: no finding"
    area = (
        "not measured"
        if finding.dural_sac_area_mm2 is None
        else f"{format_dural_sac_area(finding.dural_sac_area_mm2)} {AREA_UNIT}"
    )
    ap = (
        "not measured"
        if finding.ap_diameter_mm is None
        else f"{format_ap_diameter(finding.ap_diameter_mm)} {LENGTH_UNIT}"
    )
    agreement = (
        f"grade {finding.grade.value} disagrees with the area"
        if AREA_DISAGREEMENT_WARNING in finding.warnings
        else f"grade {finding.grade.value} agrees with the area"
    )
    edited = " · on edited mask" if finding.measured_on_edited_mask else ""
    return (
        f"{level}: dural sac {area}, AP {ap}\n{agreement} · confidence "
        f"{format_confidence(finding.confidence)}{edited}"
    )


class MaskToolsPanel(QWidget):
    def __init__(
        self,
        session: ViewerSession,
        editor: MaskEditor,
        actions: dict[EditTool, QAction],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self._closed = False
        self.tool_buttons: dict[EditTool, QToolButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        tools = QHBoxLayout()
        tools.setSpacing(4)
        for tool, action in actions.items():
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            group.addButton(button)
            tools.addWidget(button)
            self.tool_buttons[tool] = button
        tools.addStretch(1)
        self.size_spin = QDoubleSpinBox()
        self.size_spin.setRange(MIN_BRUSH_MM, MAX_BRUSH_MM)
        self.size_spin.setSingleStep(0.5)
        self.size_spin.setDecimals(1)
        self.size_spin.setSuffix(" mm")
        self.size_spin.setToolTip("Brush diameter in millimetres ([ and ] in a view)")
        self.size_spin.setValue(editor.size_mm)
        self.size_spin.valueChanged.connect(editor.set_size_mm)
        self.structure_label = QLabel()
        self.structure_label.setToolTip("Select another structure in the legend above to paint it")
        self.readout = QLabel("Paint on an axial or sagittal image; the level's numbers and sentence follow.")
        self.readout.setWordWrap(True)
        self.readout.setObjectName("maskReadout")
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setObjectName("maskNotice")
        self.notice.hide()

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.addWidget(QLabel("Size"), 0, 0)
        grid.addWidget(self.size_spin, 0, 1)
        grid.addWidget(QLabel("Paints"), 1, 0)
        grid.addWidget(self.structure_label, 1, 1)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addLayout(tools)
        layout.addLayout(grid)
        layout.addWidget(self.notice)
        layout.addWidget(self.readout)
        layout.addStretch(1)

        self._subscriptions: tuple[tuple[Any, Any], ...] = (
            (editor.events.tool_changed, self._on_tool_changed),
            (editor.events.lock_changed, self._on_lock_changed),
            (editor.events.edit_refused, self._show_notice),
            (session.events.findings_edited, self._on_findings_edited),
            (session.events.findings_changed, self._on_findings_changed),
        )
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)
        self._on_tool_changed(editor.tool, editor.size_mm, editor.structure)

    def _on_tool_changed(self, _tool: EditTool, size_mm: float, structure: str) -> None:
        self.size_spin.blockSignals(True)
        self.size_spin.setValue(size_mm)
        self.size_spin.blockSignals(False)
        r, g, b = structure_colour(structure)
        self.structure_label.setText(
            f'<span style="color: rgb({r},{g},{b}); font-size: 13pt;">■</span>&nbsp;{structure}'
        )

    def _on_lock_changed(self, reason: str | None) -> None:
        self.readout.setVisible(reason is None)
        if reason is None:
            self.notice.hide()
        else:
            self._show_notice(reason)

    def _show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def _on_findings_changed(self, _findings: StudyFindings | None) -> None:
        if self.editor.locked_reason is None:
            self.notice.hide()

    def _on_findings_edited(self, findings: StudyFindings, levels: tuple[str, ...]) -> None:
        if levels:
            self.readout.setText("\n".join(level_measurement_text(findings, level) for level in levels))
        if self.editor.locked_reason is None:
            self.notice.hide()

    def close_panel(self) -> None:
        if not self._closed:
            self._closed = True
            for emitter, callback in self._subscriptions:
                emitter.disconnect(callback)

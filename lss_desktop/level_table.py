"""The per-level table of the analysis: level, Schizas grade, confidence, dural sac area (mm²), AP
diameter (mm) and warnings. A click on a row moves the views to the level: the sagittal to its
disc, the axial to its key slice. It follows the findings: a new analysis, a relabelling, and the
re-measurement after every mask edit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableWidget, QTableWidgetItem, QWidget

from engine.findings import DiscLevel, LevelFinding, StudyFindings
from lss_desktop.session import ViewerSession

COLUMNS: tuple[str, ...] = ("Level", "Grade", "Confidence", "Dural sac mm²", "AP mm", "Warnings")
_LEVEL_ROLE = Qt.ItemDataRole.UserRole


def level_row_texts(disc: DiscLevel, finding: LevelFinding | None) -> tuple[str, ...]:
    """The cells of one level's row (COLUMNS order); dashes where nothing was measured."""
    label = f"{disc.label} *" if disc.label_overridden else disc.label
    if finding is None:
        return (label, "—", "—", "—", "—", "")
    area = "—" if finding.dural_sac_area_mm2 is None else f"{finding.dural_sac_area_mm2:.0f}"
    ap = "—" if finding.ap_diameter_mm is None else f"{finding.ap_diameter_mm:.1f}"
    edited = " ✎" if finding.measured_on_edited_mask else ""
    warnings = f"{len(finding.warnings)}" if finding.warnings else ""
    return (
        label,
        f"{finding.grade.value} · {finding.grade.severity}",
        f"{finding.confidence * 100:.0f} %",
        area + edited,
        ap + edited,
        warnings,
    )


def level_row_tooltip(disc: DiscLevel, finding: LevelFinding | None) -> str:
    lines = []
    if disc.label_overridden:
        lines.append("Level label set by a person")
    if finding is None:
        lines.append("Not graded: no axial slice near this disc")
        return "\n".join(lines)
    probabilities = ", ".join(f"{g.value} {p * 100:.0f} %" for g, p in finding.grade_probabilities)
    lines.append(f"Grade probabilities: {probabilities}")
    if finding.measured_on_edited_mask:
        lines.append("Measured on a mask edited by a person")
    lines += [f"⚠ {w}" for w in finding.warnings]
    lines.append(f"Model: {finding.provenance.model_name} {finding.provenance.model_version}")
    return "\n".join(lines)


class LevelTable(QTableWidget):
    """See the module docstring; observes the session, never keeps findings of its own."""

    def __init__(self, session: ViewerSession, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.session = session
        self._closed = False
        self._syncing = False
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setToolTip("Click a level to show its disc and key slice")
        self._warning_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.itemSelectionChanged.connect(self._on_row_selected)
        self.cellClicked.connect(lambda row, _column: self._go_to_row(row))  # also an already selected row
        self._subscriptions = (
            (session.events.findings_changed, self._on_findings),
            (session.events.findings_edited, self._on_findings_edited),
            (session.events.selection_changed, self._on_selection_changed),
        )
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)
        self._on_findings(session.findings)

    def level_at(self, row: int) -> str | None:
        item = self.item(row, 0)
        return None if item is None else str(item.data(_LEVEL_ROLE))

    def row_of(self, level: str) -> int | None:
        return next((r for r in range(self.rowCount()) if self.level_at(r) == level), None)

    def _on_findings_edited(self, findings: StudyFindings, _levels: tuple[str, ...]) -> None:
        self._on_findings(findings)

    def _on_findings(self, findings: StudyFindings | None) -> None:
        self._syncing = True
        discs = findings.levels if findings is not None else ()
        self.setRowCount(len(discs))
        for row, disc in enumerate(discs):
            finding = findings.finding_for(disc.label) if findings is not None else None
            tooltip = level_row_tooltip(disc, finding)
            for column, text in enumerate(level_row_texts(disc, finding)):
                item = QTableWidgetItem(text)
                item.setData(_LEVEL_ROLE, disc.label)
                item.setToolTip(tooltip)
                if column > 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 0:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                if column == len(COLUMNS) - 1 and text:
                    item.setIcon(self._warning_icon)
                self.setItem(row, column, item)
        self._syncing = False
        self._on_selection_changed(self.session.selected_level)

    def _on_selection_changed(self, level: str | None) -> None:
        row = None if level is None else self.row_of(level)
        self._syncing = True
        if row is None:
            self.clearSelection()
        elif self.currentRow() != row or not self.selectedItems():
            self.selectRow(row)
        self._syncing = False

    def _on_row_selected(self) -> None:
        if self._syncing:
            return
        rows = {index.row() for index in self.selectedIndexes()}
        if len(rows) == 1:
            self._go_to_row(rows.pop())

    def _go_to_row(self, row: int) -> None:
        level = self.level_at(row)
        if level is not None and not self._closed:
            self.session.go_to_level(level, show_key_series=True)

    def close_table(self) -> None:
        if not self._closed:
            self._closed = True
            for emitter, callback in self._subscriptions:
                emitter.disconnect(callback)

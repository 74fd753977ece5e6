"""The load report: what was read, what was skipped or set aside, and why (file by file)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.study.model import Study


def load_report_summary(study: Study) -> str:
    report = study.load_report
    parts = [f"{report.files_loaded} of {report.files_found} files loaded into {len(study.series)} series"]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped")
    warnings = len(report.issues) - len(report.skipped)
    if warnings:
        parts.append(f"{warnings} other notes")
    if study.set_aside:
        parts.append(f"{len(study.set_aside)} non-image series set aside")
    if report.cancelled:
        parts.append("loading was cancelled")
    return "; ".join(parts) + "."


class LoadReportDialog(QDialog):
    def __init__(self, study: Study, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Load report")
        self.resize(760, 420)
        rows = [(issue.path, issue.severity.value, issue.reason) for issue in study.load_report.issues]
        rows += [
            (
                f"series {item.description or item.series_instance_uid}",
                "set aside",
                f"{item.modality}: {item.reason} ({item.file_count} files)",
            )
            for item in study.set_aside
        ]
        self.summary = QLabel(load_report_summary(study))
        self.summary.setWordWrap(True)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["File", "What happened", "Why"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                cell = QTableWidgetItem(value)
                cell.setToolTip(value)
                self.table.setItem(r, c, cell)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 300)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

"""The worklist: recently opened studies (description, date, report status, when opened, folder).
Double-click (or Enter) reopens one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from lss_desktop.recent_studies import RecentStudies

_FOLDER_ROLE = Qt.ItemDataRole.UserRole


_STATUS_TEXT = {"new": "Not reported", "draft": "Draft", "preliminary": "Preliminary", "final": "Final"}


def _display_date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


class WorklistPanel(QTreeWidget):
    open_requested = Signal(str)  # folder

    def __init__(self, recent: RecentStudies, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recent = recent
        self.setHeaderLabels(["Study", "Date", "Report", "Opened"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.itemActivated.connect(lambda item, _col: self.open_requested.emit(item.data(0, _FOLDER_ROLE)))
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        for entry in self.recent.entries():
            item = QTreeWidgetItem(
                [
                    entry.description or "(no description)",
                    _display_date(entry.study_date),
                    _STATUS_TEXT.get(entry.status, entry.status),
                    entry.opened_at.replace("T", " ")[:16],
                ]
            )
            item.setData(0, _FOLDER_ROLE, entry.folder)
            series = f"\n{entry.series_count} series" if entry.series_count is not None else ""
            item.setToolTip(0, f"{entry.folder}{series}")
            self.addTopLevelItem(item)
        for column in range(self.columnCount()):
            self.resizeColumnToContents(column)

"""The dark reading-room theme: palette, style sheet and the colours that identify each view."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from lss_desktop.hanging_protocol import ViewSlot

VIEW_BACKGROUND = (0.0, 0.0, 0.0)
# Each view has a colour: its header strip and the cross-reference line it draws in other views.
SLOT_COLOURS: dict[ViewSlot, tuple[float, float, float]] = {
    ViewSlot.LEFT: (1.0, 0.72, 0.25),
    ViewSlot.MIDDLE: (0.35, 0.8, 1.0),
    ViewSlot.RIGHT: (0.55, 0.9, 0.45),
}


def slot_colour_hex(slot: ViewSlot) -> str:
    r, g, b = SLOT_COLOURS[slot]
    return QColor.fromRgbF(r, g, b).name()


_STYLE_SHEET = """
QMainWindow, QDialog { background: #1b1d21; }
QWidget { color: #d8dce2; font-size: 10pt; }
QMenuBar { background: #202329; }
QMenuBar::item:selected, QMenu::item:selected { background: #2f5d8a; }
QMenu { background: #23262c; border: 1px solid #363a42; }
QToolBar { background: #202329; border: none; border-bottom: 1px solid #2c3037; spacing: 4px; padding: 2px; }
QToolButton { padding: 4px 8px; border-radius: 3px; }
QToolButton:hover { background: #2c3037; }
QToolButton:checked { background: #2f5d8a; }
QDockWidget { titlebar-close-icon: none; }
QDockWidget::title { background: #202329; padding: 5px 8px; border-bottom: 1px solid #2c3037; }
QListWidget, QTreeWidget, QTableWidget { background: #16181b; border: 1px solid #2c3037; alternate-background-color: #1b1e22; }
QListWidget::item { padding: 3px; }
QListWidget::item:selected, QTreeWidget::item:selected, QTableWidget::item:selected { background: #2f5d8a; color: white; }
QHeaderView::section { background: #202329; border: none; border-right: 1px solid #2c3037; padding: 4px; }
QComboBox { background: #23262c; border: 1px solid #363a42; border-radius: 3px; padding: 2px 6px; }
QComboBox QAbstractItemView { background: #23262c; selection-background-color: #2f5d8a; }
QPushButton { background: #2a2e35; border: 1px solid #3a3f48; border-radius: 3px; padding: 4px 12px; }
QPushButton:hover { background: #333842; }
QSlider::groove:horizontal { height: 4px; background: #363a42; border-radius: 2px; }
QSlider::handle:horizontal { background: #6fa8dc; width: 12px; margin: -5px 0; border-radius: 6px; }
QStatusBar { background: #202329; border-top: 1px solid #2c3037; }
QStatusBar QLabel { color: #aeb4bd; }
QProgressBar { background: #16181b; border: 1px solid #363a42; border-radius: 3px; text-align: center; height: 14px; }
QProgressBar::chunk { background: #2f7bc0; }
QSplitter::handle { background: #2c3037; }
QFrame#viewHeader { background: #202329; border-bottom: 1px solid #2c3037; }
QFrame#viewHeader[active="true"] { background: #2b3545; border-bottom: 1px solid #4a6a90; }
QFrame#viewHeader QToolButton { padding: 2px 4px; }
QLabel#analysisStatus, QLabel#promptStatus { color: #9aa0a8; font-size: 9pt; }
QLabel#intendedUseBanner { background: #3a2f12; color: #f3d79a; padding: 3px 10px; font-size: 9pt; border-bottom: 1px solid #5a4a1e; }
QLabel#viewTitle { font-weight: bold; }
QFrame#reportHeader { background: #202329; border-bottom: 1px solid #2c3037; }
QWidget#reportBody { background: #1b1d21; }
QLabel#statusBadge { border-radius: 3px; padding: 2px 8px; font-weight: bold; font-size: 9pt; }
QLabel#statusBadge[state="draft"] { background: #5a4a1e; color: #f3d79a; }
QLabel#statusBadge[state="preliminary"] { background: #1f4466; color: #bfe0ff; }
QLabel#statusBadge[state="final"] { background: #1e5a34; color: #c8f0d4; }
QLabel#statusBadge[state="compromised"] { background: #7a1f1f; color: #ffd6d6; }
QLabel#statusBadge[state="none"] { background: #2a2e35; color: #8a919b; }
QLabel#reviewCount[pending="true"] { color: #f0c060; font-weight: bold; }
QLabel#saveState, QLabel#modelLine { color: #8a919b; font-size: 9pt; }
QLabel#sectionTitle { color: #8a919b; font-size: 8pt; font-weight: bold; letter-spacing: 1px; padding: 10px 2px 2px 2px; }
QLabel#reportPlaceholder { color: #7a808a; padding: 40px 20px; }
QLabel#attribution { color: #8a919b; font-style: italic; font-size: 9pt; padding: 10px 4px 4px 4px; }
QLabel#signatureBlock { color: #c8f0d4; background: #1a2a20; border: 1px solid #2f5a3e; border-radius: 3px; padding: 6px; }
QLabel#addenda { background: #202329; border: 1px solid #363a42; border-radius: 3px; padding: 6px; }
QFrame#sentenceRow { border: 1px solid transparent; border-left: 4px solid #4a5160; border-radius: 2px; background: transparent; }
QFrame#sentenceRow[state="ai"] { background: #2b2615; border-left-color: #e0a526; }
QFrame#sentenceRow[state="accepted"] { border-left-color: #3f9b5a; }
QFrame#sentenceRow[state="person"] { border-left-color: #4a90d9; }
QFrame#sentenceRow[state="stale"] { background: #33211a; border-left-color: #e0662c; }
QFrame#sentenceRow[selected="true"] { border-top: 1px solid #6fa8dc; border-right: 1px solid #6fa8dc; border-bottom: 1px solid #6fa8dc; }
QFrame#sentenceRow QTextEdit { background: transparent; color: #e4e7eb; font-size: 10pt; }
QFrame#sentenceRow QTextEdit:focus { background: #16181b; border: 1px solid #4a6a90; }
QFrame#sentenceRow QTextEdit[readOnly="true"] { color: #d8dce2; }
QLabel#sentenceStatus { color: #8a919b; font-size: 8pt; }
QFrame#sentenceRow[state="ai"] QLabel#sentenceStatus { color: #d8b867; }
QFrame#sentenceRow[state="stale"] QLabel#sentenceStatus { color: #f09070; }
QToolButton#levelChip { background: #2b3545; color: #9ccaff; font-weight: bold; border-radius: 3px; padding: 2px 6px; }
QToolButton#levelChip:hover { background: #34507a; }
QPushButton#acceptButton { padding: 2px 10px; border-color: #3f7a50; color: #b8e6c4; }
QPushButton#acceptButton:hover { background: #24402d; }
QPushButton#signButton { border-color: #4a6a90; }
QFrame#staleBox { background: #2a1c17; border: 1px solid #5a3426; border-radius: 3px; }
QLabel#staleReason { color: #f0a080; }
QLabel#suggestion { color: #d8dce2; font-style: italic; }
QLabel#maskReadout { color: #c8d2de; background: #202329; border: 1px solid #2c3037; border-radius: 3px; padding: 6px; }
QLabel#maskNotice, QLabel#settingsError, QLabel#signOffBlocked { color: #f0a080; }
QLabel#dialogIntendedUse { color: #d8b867; font-size: 8pt; }
"""


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style with a dark palette: images read best on a dark, low-glare surround."""
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1b1d21",
        QPalette.ColorRole.WindowText: "#d8dce2",
        QPalette.ColorRole.Base: "#16181b",
        QPalette.ColorRole.AlternateBase: "#1b1e22",
        QPalette.ColorRole.ToolTipBase: "#23262c",
        QPalette.ColorRole.ToolTipText: "#d8dce2",
        QPalette.ColorRole.Text: "#d8dce2",
        QPalette.ColorRole.Button: "#2a2e35",
        QPalette.ColorRole.ButtonText: "#d8dce2",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#2f5d8a",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6fa8dc",
        QPalette.ColorRole.PlaceholderText: "#7a808a",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b717a"))
    app.setPalette(palette)
    app.setStyleSheet(_STYLE_SHEET)

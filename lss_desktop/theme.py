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
QLabel#intendedUseBanner { background: #3a2f12; color: #f3d79a; padding: 3px 10px; font-size: 9pt; border-bottom: 1px solid #5a4a1e; }
QLabel#viewTitle { font-weight: bold; }
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

"""LSS Desktop, the reading app: Qt (PySide6) widgets and VTK views over a Qt-free session model.

The only package that imports PySide6 and VTK. Entry point: `lss-desktop` (lss_desktop.app:main).
"""

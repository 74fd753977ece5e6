"""The DICOM export dialog: the folder to write the SEG, SR and encapsulated PDF into, and whether
to anonymise them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class DicomExportDialog(QDialog):
    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export DICOM objects")
        self.setMinimumWidth(480)
        self.folder_edit = QLineEdit(str(folder))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.anonymise_check = QCheckBox("Anonymise (pseudonymise the patient, new UIDs, no birth date)")
        self.anonymise_check.setToolTip(
            "DICOM PS3.15 basic profile; anonymised copies of the referenced images are written too"
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Segmentations (SEG), measurements (SR) and the report (encapsulated PDF) go to:")
        )
        layout.addLayout(row)
        layout.addWidget(self.anonymise_check)
        layout.addWidget(buttons)
        self.folder_edit.textChanged.connect(lambda text: self.export_button.setEnabled(bool(text.strip())))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export DICOM objects to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    @property
    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip())

    @property
    def anonymise(self) -> bool:
        return self.anonymise_check.isChecked()

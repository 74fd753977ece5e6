"""Signing: the sign-off dialog (name, attestation, preliminary or final) and the addendum dialog
for a final report. Both only collect what the person states; ReportSession does the signing."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

import engine
from engine.reporting.sign_off import DEFAULT_ATTESTATION, ReportStatus


@dataclass(frozen=True)
class SignOffRequest:
    status: ReportStatus
    radiologist: str
    attestation: str


@dataclass(frozen=True)
class AddendumRequest:
    text: str
    author: str
    attestation: str


def _intended_use_label(model: str) -> QLabel:
    label = QLabel(f"{engine.INTENDED_USE}\nLSS Desktop {engine.__version__} · Model: {model}")
    label.setObjectName("dialogIntendedUse")
    label.setWordWrap(True)
    return label


class SignOffDialog(QDialog):
    """Name (pre-filled from the settings, editable), preliminary or final, and the attestation the
    signer must tick. Signing is refused here while sentences still need review."""

    def __init__(
        self, radiologist: str, needs_review: int, model: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign report")
        self.setMinimumWidth(480)
        self.name_edit = QLineEdit(radiologist)
        self.name_edit.setPlaceholderText("Your name as it appears on the report")
        self.preliminary_radio = QRadioButton("Preliminary — may still change")
        self.final_radio = QRadioButton("Final — locks the report; later changes are addenda")
        self.final_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.preliminary_radio)
        group.addButton(self.final_radio)
        self.attestation_text = QPlainTextEdit(DEFAULT_ATTESTATION)
        self.attestation_text.setReadOnly(True)
        self.attestation_text.setFixedHeight(64)
        self.attest_check = QCheckBox("I make the statement above")
        self.pending_label = QLabel(
            f"{needs_review} sentence{'s' if needs_review != 1 else ''} still need review: accept or edit "
            "them before signing."
            if needs_review
            else ""
        )
        self.pending_label.setObjectName("signOffBlocked")
        self.pending_label.setWordWrap(True)
        self.pending_label.setVisible(needs_review > 0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_button = self.buttons.addButton("Sign", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._needs_review = needs_review

        form = QFormLayout()
        form.addRow("Radiologist", self.name_edit)
        form.addRow("Status", self.preliminary_radio)
        form.addRow("", self.final_radio)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Attestation"))
        layout.addWidget(self.attestation_text)
        layout.addWidget(self.attest_check)
        layout.addWidget(self.pending_label)
        layout.addWidget(_intended_use_label(model))
        layout.addWidget(self.buttons)
        self.name_edit.textChanged.connect(self._update)
        self.attest_check.toggled.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.sign_button.setEnabled(
            bool(self.name_edit.text().strip()) and self.attest_check.isChecked() and self._needs_review == 0
        )

    def request(self) -> SignOffRequest:
        return SignOffRequest(
            status=ReportStatus.FINAL if self.final_radio.isChecked() else ReportStatus.PRELIMINARY,
            radiologist=self.name_edit.text().strip(),
            attestation=self.attestation_text.toPlainText().strip(),
        )


class AddendumDialog(QDialog):
    """Text added to a final report, its author, and the attestation."""

    def __init__(self, author: str, model: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an addendum")
        self.setMinimumWidth(480)
        self.text_edit = QPlainTextEdit()
        self.text_edit.setPlaceholderText("The addendum, as it will be appended to the final report")
        self.author_edit = QLineEdit(author)
        self.attest_check = QCheckBox(DEFAULT_ATTESTATION)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("Add addendum", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Author", self.author_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The signed report does not change; the addendum is added to it."))
        layout.addWidget(self.text_edit)
        layout.addLayout(form)
        layout.addWidget(self.attest_check)
        layout.addWidget(_intended_use_label(model))
        layout.addWidget(self.buttons)
        for signal in (self.text_edit.textChanged, self.author_edit.textChanged, self.attest_check.toggled):
            signal.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.add_button.setEnabled(
            bool(self.text_edit.toPlainText().strip())
            and bool(self.author_edit.text().strip())
            and self.attest_check.isChecked()
        )

    def request(self) -> AddendumRequest:
        return AddendumRequest(
            text=self.text_edit.toPlainText().strip(),
            author=self.author_edit.text().strip(),
            attestation=DEFAULT_ATTESTATION,
        )

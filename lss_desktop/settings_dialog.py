"""The settings dialog: your name and institution, the PACS node (with a C-ECHO test), the inference
device, the active model pack (the packs engine.runtime finds) and the site's report template. OK validates every field and keeps
the dialog open, naming the field, when one is wrong."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.pacs.echo import echo
from engine.pacs.errors import NodeSettingsError
from engine.pacs.node import DEFAULT_CALLING_AE_TITLE, DEFAULT_TIMEOUT_S, PacsNode
from engine.reporting.template import TemplateError, load_report_template
from lss_desktop.app_settings import DEVICES, AppSettings
from lss_desktop.background import TaskContext, TaskRunner
from lss_desktop.pacs_messages import describe_pacs_error


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.runner = runner
        self._result: AppSettings | None = None

        self.user_edit = QLineEdit(settings.user_name)
        self.user_edit.setPlaceholderText("Shown on edits and pre-filled when signing")
        self.institution_edit = QLineEdit(settings.institution)
        self.institution_edit.setPlaceholderText("Verifying organisation in DICOM SR exports")

        node = settings.pacs_node
        self.ae_edit = QLineEdit(node.ae_title if node else "")
        self.ae_edit.setPlaceholderText("empty: no PACS")
        self.host_edit = QLineEdit(node.host if node else "")
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(node.port if node else 104)
        self.calling_edit = QLineEdit(node.calling_ae_title if node else DEFAULT_CALLING_AE_TITLE)
        self.timeout_spin = QDoubleSpinBox()
        self.timeout_spin.setRange(1.0, 600.0)
        self.timeout_spin.setSuffix(" s")
        self.timeout_spin.setValue(node.timeout_s if node else DEFAULT_TIMEOUT_S)
        self.echo_button = QPushButton("Test (C-ECHO)")
        self.echo_button.clicked.connect(self.test_echo)
        self.echo_label = QLabel("")
        self.echo_label.setWordWrap(True)
        self.echo_label.setObjectName("echoResult")

        self.device_combo = QComboBox()
        for device in DEVICES:
            self.device_combo.addItem(
                {"auto": "Automatic", "cpu": "CPU", "cuda": "GPU (CUDA)"}[device], device
            )
        self.device_combo.setCurrentIndex(DEVICES.index(settings.device))
        self.model_combo = QComboBox()
        self._fill_model_packs(settings.model_pack)
        self.template_edit = QLineEdit(settings.report_template)
        self.template_edit.setPlaceholderText("empty: the bundled default template")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_template)
        self.error_label = QLabel("")
        self.error_label.setObjectName("settingsError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        reader = QGroupBox("Reader")
        reader_form = QFormLayout(reader)
        reader_form.addRow("Your name", self.user_edit)
        reader_form.addRow("Institution", self.institution_edit)
        pacs = QGroupBox("PACS node")
        pacs_form = QFormLayout(pacs)
        pacs_form.addRow("AE title", self.ae_edit)
        pacs_form.addRow("Host", self.host_edit)
        pacs_form.addRow("Port", self.port_spin)
        pacs_form.addRow("Our AE title", self.calling_edit)
        pacs_form.addRow("Timeout", self.timeout_spin)
        echo_row = QHBoxLayout()
        echo_row.addWidget(self.echo_button)
        echo_row.addWidget(self.echo_label, 1)
        pacs_form.addRow(echo_row)
        analysis = QGroupBox("Analysis and report")
        analysis_form = QFormLayout(analysis)
        analysis_form.addRow("Device", self.device_combo)
        analysis_form.addRow("Model pack", self.model_combo)
        template_row = QHBoxLayout()
        template_row.addWidget(self.template_edit, 1)
        template_row.addWidget(browse)
        analysis_form.addRow("Report template", template_row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(reader)
        layout.addWidget(pacs)
        layout.addWidget(analysis)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def _fill_model_packs(self, active: str) -> None:
        """One entry per pack name found by the engine (its newest version is used); without any
        pack, the default name, read-only."""
        # Imported here: the runtime brings OpenCV, which the app does not need to start.
        from engine.runtime.model_pack import DEFAULT_PACK_NAME, find_model_packs

        versions: dict[str, list[str]] = {}
        for info in find_model_packs():
            where = "bundled" if info.bundled else str(info.root.parent)
            versions.setdefault(info.name, []).append(f"{info.version} ({where})")
        for name, found in versions.items():
            self.model_combo.addItem(name, name)
            self.model_combo.setItemData(
                self.model_combo.count() - 1, "Versions: " + ", ".join(found), Qt.ItemDataRole.ToolTipRole
            )
        if not versions:
            self.model_combo.addItem(f"{DEFAULT_PACK_NAME} (not installed)", "")
            self.model_combo.setToolTip("No model pack is installed: the default one is used once it is")
        self.model_combo.setEnabled(bool(versions))
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(active or DEFAULT_PACK_NAME), 0))

    def _browse_template(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Report template", "", "Report templates (*.toml)")
        if path:
            self.template_edit.setText(path)

    def pacs_node(self) -> PacsNode | None:
        """The node the fields describe; None without an AE title. NodeSettingsError names the field."""
        if not self.ae_edit.text().strip():
            return None
        return PacsNode(
            ae_title=self.ae_edit.text().strip(),
            host=self.host_edit.text().strip(),
            port=self.port_spin.value(),
            calling_ae_title=self.calling_edit.text().strip(),
            timeout_s=float(self.timeout_spin.value()),
        )

    def test_echo(self) -> None:
        """Send a C-ECHO to the node as filled in, off the GUI thread; the result shows beside the button."""
        try:
            node = self.pacs_node()
        except NodeSettingsError as exc:
            self.echo_label.setText(f"✗ {exc}")
            return
        if node is None:
            self.echo_label.setText("✗ Fill in the PACS AE title, host and port first.")
            return
        self.echo_button.setEnabled(False)
        self.echo_label.setText(f"Sending C-ECHO to {node}…")

        def send(_context: TaskContext) -> float:
            return echo(node)

        def answered(milliseconds: float) -> None:
            self.echo_button.setEnabled(True)
            self.echo_label.setText(f"✓ {node} answered in {milliseconds:.0f} ms")

        def failed(error: Exception) -> None:
            self.echo_button.setEnabled(True)
            title, _message = describe_pacs_error(error)
            self.echo_label.setText(f"✗ {title}: {error}")

        self.runner.start("C-ECHO", send, on_success=answered, on_failure=failed)

    def settings(self) -> AppSettings:
        """The settings as filled in; raises ValueError naming the field that is wrong."""
        try:
            node = self.pacs_node()
        except NodeSettingsError as exc:
            raise ValueError(f"PACS node: {exc}") from exc
        template = self.template_edit.text().strip()
        if template:
            try:
                load_report_template(Path(template))
            except TemplateError as exc:
                raise ValueError(f"Report template: {exc}") from exc
        return AppSettings(
            user_name=self.user_edit.text().strip(),
            institution=self.institution_edit.text().strip(),
            pacs_node=node,
            device=str(self.device_combo.currentData()),
            model_pack=str(self.model_combo.currentData()),
            report_template=template,
        )

    @property
    def result_settings(self) -> AppSettings | None:
        """The accepted settings (None until OK was pressed with valid fields)."""
        return self._result

    def accept(self) -> None:
        try:
            self._result = self.settings()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        super().accept()

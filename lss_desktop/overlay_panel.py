"""Overlay controls and colour legend: masks on/off, fill or outline, opacity, one entry per
structure with its colour (ticked: shown; selected: the structure the brush paints; the tooltip
says where its masks came from), the structures segmented from text prompts, the explanation heat
map and the level labels."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.findings import SliceMask, Structure, StudyFindings
from lss_desktop.mask_editing import EditTool, MaskEditor
from lss_desktop.overlays import OverlaySettings, OverlayStyle, structure_colour
from lss_desktop.session import ViewerSession

_STRUCTURE_ROLE = Qt.ItemDataRole.UserRole


def _swatch(rgb: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


def legend_structures(findings: StudyFindings | None, prompt_masks: Sequence[SliceMask] = ()) -> list[str]:
    """Structures with masks, plus the dural sac (the measured structure can always be painted),
    then the prompts segmented on request, in the order they were asked."""
    structures = (
        []
        if findings is None
        else sorted({m.structure for m in findings.masks} | {Structure.DURAL_SAC.value})
    )
    for mask in prompt_masks:
        if mask.structure not in structures:
            structures.append(mask.structure)
    return structures


def structure_provenance(
    structure: str, findings: StudyFindings | None, prompt_masks: Sequence[SliceMask] = ()
) -> str:
    """Where a legend entry's masks come from: the analysis (model), a person's edit, or a text
    prompt (model, prompt, slices), as a tooltip."""
    from_prompt = [m for m in prompt_masks if m.structure == structure]
    from_findings = [m for m in (findings.masks if findings else ()) if m.structure == structure]
    lines = []
    if from_findings:
        provenance = next((m.provenance for m in from_findings if m.provenance is not None), None)
        model = f"{provenance.model_name} {provenance.model_version}" if provenance else "unknown model"
        lines.append(f"From the analysis ({model}) on {len(from_findings)} image(s)")
        edited = sum(m.edited_by_person for m in from_findings)
        if edited:
            lines.append(f"{edited} of them edited by a person")
    if from_prompt:
        provenance = from_prompt[0].provenance
        model = f"{provenance.model_name} {provenance.model_version}" if provenance else "unknown model"
        lines.append(f"Segmented from the prompt “{structure}” by {model} on {len(from_prompt)} image(s)")
        lines.append("Shown only: not part of the findings or the report")
    if not lines:
        lines.append("No mask yet: select it and paint with the brush")
    return "\n".join(lines)


class OverlayPanel(QWidget):
    def __init__(
        self, session: ViewerSession, parent: QWidget | None = None, editor: MaskEditor | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self._closed = False
        self._syncing = False
        self._structures: list[str] = []

        self.masks_check = QCheckBox("Show masks")
        self.style_combo = QComboBox()
        self.style_combo.addItem("Filled", OverlayStyle.FILL)
        self.style_combo.addItem("Outline", OverlayStyle.OUTLINE)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Opacity of filled masks and of the heat map")
        self.legend = QListWidget()
        self.legend.setMaximumHeight(150)
        self.legend.setToolTip("Tick to show a structure; select one to paint it with the brush")
        self.legend_hint = QLabel("No masks in this study yet.")
        self.legend_hint.setStyleSheet("color: #7a808a;")
        self.explanation_check = QCheckBox("Explanation map (heat)")
        self.explanation_check.setToolTip("Where the model looked when grading (cross-attention)")
        self.labels_check = QCheckBox("Level labels (drag to correct)")

        form = QFormLayout()
        form.addRow("Style", self.style_combo)
        form.addRow("Opacity", self.opacity_slider)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.masks_check)
        layout.addLayout(form)
        layout.addWidget(QLabel("Structures"))
        layout.addWidget(self.legend)
        layout.addWidget(self.legend_hint)
        layout.addWidget(self.explanation_check)
        layout.addWidget(self.labels_check)
        layout.addStretch(1)

        self.masks_check.toggled.connect(lambda on: self._change(show_masks=on))
        self.style_combo.currentIndexChanged.connect(
            lambda i: self._change(style=self.style_combo.itemData(i))
        )
        self.opacity_slider.valueChanged.connect(lambda v: self._change(opacity=v / 100.0))
        self.explanation_check.toggled.connect(lambda on: self._change(show_explanation=on))
        self.labels_check.toggled.connect(lambda on: self._change(show_level_labels=on))
        self.legend.itemChanged.connect(self._on_legend_item_changed)
        self.legend.currentItemChanged.connect(self._on_legend_selection)

        self._subscriptions: tuple[tuple[Any, Any], ...] = (
            (session.events.findings_changed, self._on_findings_changed),
            (session.events.findings_edited, self._on_findings_edited),
            (session.events.prompt_masks_changed, self._on_prompt_masks_changed),
            (session.events.overlay_settings_changed, self._sync_from_settings),
        )
        if editor is not None:
            self._subscriptions += ((editor.events.tool_changed, self._on_tool_changed),)
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)
        self._on_findings_changed(session.findings)
        self._sync_from_settings(session.overlay_settings)

    def _change(self, **changes: Any) -> None:
        if not self._syncing:
            self.session.set_overlay_settings(dataclasses.replace(self.session.overlay_settings, **changes))

    def _on_legend_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing:
            return
        structure = str(item.data(_STRUCTURE_ROLE))
        hidden = set(self.session.overlay_settings.hidden_structures)
        if item.checkState() == Qt.CheckState.Checked:
            hidden.discard(structure)
        else:
            hidden.add(structure)
        self._change(hidden_structures=frozenset(hidden))

    def _on_legend_selection(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is not None and not self._syncing and self.editor is not None:
            self.editor.set_structure(str(item.data(_STRUCTURE_ROLE)))

    def _on_tool_changed(self, _tool: EditTool, _size_mm: float, structure: str) -> None:
        self._select_structure(structure)

    def _select_structure(self, structure: str) -> None:
        for row in range(self.legend.count()):
            item = self.legend.item(row)
            if item.data(_STRUCTURE_ROLE) == structure and self.legend.currentItem() is not item:
                self._syncing = True
                self.legend.setCurrentItem(item)
                self._syncing = False

    def _on_findings_edited(self, findings: StudyFindings, _levels: tuple[str, ...]) -> None:
        if legend_structures(findings, self.session.prompt_masks) != self._structures:
            self._on_findings_changed(findings)
        else:
            self._update_tooltips()

    def _on_prompt_masks_changed(self, masks: tuple[SliceMask, ...]) -> None:
        self._on_findings_changed(self.session.findings)
        if masks:  # the newest prompt's entry is brought into sight
            items = self.legend.findItems(masks[-1].structure, Qt.MatchFlag.MatchExactly)
            if items:
                self.legend.scrollToItem(items[0])

    def _update_tooltips(self) -> None:
        for row in range(self.legend.count()):
            item = self.legend.item(row)
            item.setToolTip(
                structure_provenance(
                    str(item.data(_STRUCTURE_ROLE)), self.session.findings, self.session.prompt_masks
                )
            )

    def _on_findings_changed(self, findings: StudyFindings | None) -> None:
        prompt_masks = self.session.prompt_masks
        structures = legend_structures(findings, prompt_masks)
        self._structures = structures
        self._syncing = True
        self.legend.clear()
        hidden = self.session.overlay_settings.hidden_structures
        for structure in structures:
            item = QListWidgetItem(_swatch(structure_colour(structure)), structure)
            item.setData(_STRUCTURE_ROLE, structure)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if structure in hidden else Qt.CheckState.Checked)
            item.setToolTip(structure_provenance(structure, findings, prompt_masks))
            self.legend.addItem(item)
        self._syncing = False
        if self.editor is not None:
            self._select_structure(self.editor.structure)
        self.legend.setVisible(bool(structures))
        self.legend_hint.setVisible(not structures)
        has_maps = findings is not None and bool(findings.explanations)
        self.explanation_check.setEnabled(has_maps)
        self.labels_check.setEnabled(findings is not None and bool(findings.levels))

    def _sync_from_settings(self, settings: OverlaySettings) -> None:
        self._syncing = True
        self.masks_check.setChecked(settings.show_masks)
        self.style_combo.setCurrentIndex(self.style_combo.findData(settings.style))
        self.opacity_slider.setValue(round(settings.opacity * 100))
        self.explanation_check.setChecked(settings.show_explanation)
        self.labels_check.setChecked(settings.show_level_labels)
        for row in range(self.legend.count()):
            item = self.legend.item(row)
            hidden = item.data(_STRUCTURE_ROLE) in settings.hidden_structures
            item.setCheckState(Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)
        self._syncing = False

    def close_panel(self) -> None:
        if not self._closed:
            self._closed = True
            for emitter, callback in self._subscriptions:
                emitter.disconnect(callback)

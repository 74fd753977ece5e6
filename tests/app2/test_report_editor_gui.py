"""The report editor in the real window: sections, AI sentences highlighted until accepted or
edited, editing marks a sentence as the person's, clicking a sentence shows its evidence, stale
flags after a mask edit with "Use suggestion" / "Keep mine", autosave (debounced and on focus-out)
audited by the store, the sign-off dialog, the read-only final report and its addenda."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from engine.reporting.drafting import findings_sentence_id
from engine.reporting.model import Section, SentenceProvenance
from engine.reporting.sign_off import ReportStatus
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import EditTool
from lss_desktop.sign_off_dialog import AddendumDialog, SignOffDialog

pytestmark = pytest.mark.gui

L45 = findings_sentence_id("L4-L5")
L23 = findings_sentence_id("L2-L3")


def type_into(qtbot, row, text):
    """Click into a sentence, replace its words by typing, and leave it (focus-out commits)."""
    QTest.mouseClick(row.text.viewport(), Qt.MouseButton.LeftButton)
    row.text.selectAll()
    QTest.keyClicks(row.text, text)
    row.text.clearFocus()
    qtbot.wait(10)  # the edit is applied on the next turn of the event loop


def row_colour(row):
    """The row's background as drawn (the middle of its right margin, beside the buttons)."""
    image = row.grab().toImage()
    return image.pixelColor(image.width() - 3, image.height() // 2)


def test_sections_highlight_ai_sentences_until_accepted(opened, qtbot, screenshot_dir):
    window = opened()
    panel = window.report_panel
    titles = [w.text() for w in panel.body.findChildren(QLabel) if w.objectName() == "sectionTitle"]
    assert titles == ["TECHNIQUE", "FINDINGS", "IMPRESSION"]
    draft = window.report.draft
    assert list(panel.rows) == [s.sentence_id for s in draft.sentences]
    assert panel.attribution.text() == draft.attribution and "drafted by LSS Desktop" in draft.attribution
    assert panel.status_badge.text() == "DRAFT"
    assert panel.review_label.text() == f"{len(draft.sentences)} sentences to review"

    row = panel.rows[L23]
    assert row.property("state") == "ai" and row.accept_button.isVisible()
    status_colour = row.status.palette().color(row.status.foregroundRole())
    assert status_colour.red() > status_colour.blue() + 60  # amber "not yet reviewed"
    amber = row_colour(row)
    assert amber.red() > amber.blue() + 10  # tinted warm while awaiting review
    row.accept_button.click()
    assert window.report.draft.sentence(L23).provenance is SentenceProvenance.ACCEPTED_BY_PERSON
    accepted = panel.rows[L23]
    assert accepted.property("state") == "accepted" and not accepted.accept_button.isVisible()
    assert accepted.status.text() == "Software draft accepted by Dr Ada Lovelace"
    status_colour = accepted.status.palette().color(accepted.status.foregroundRole())
    assert abs(status_colour.red() - status_colour.blue()) < 30  # grey once reviewed
    plain = row_colour(accepted)
    assert abs(plain.red() - plain.blue()) < 12
    assert panel.review_label.text() == f"{len(draft.sentences) - 1} sentences to review"
    qtbot.wait(50)
    window.save_screenshot(screenshot_dir / "report-editor.png")

    panel.accept_all_button.click()
    assert window.report.sentences_needing_review == ()
    assert panel.review_label.text() == "All sentences reviewed" and not panel.accept_all_button.isEnabled()


def test_editing_a_sentence_makes_it_the_persons_and_is_autosaved_and_audited(opened, qtbot):
    window = opened()
    panel = window.report_panel
    type_into(qtbot, panel.rows[L45], "Moderate central canal stenosis at L4-L5, reviewed.")
    sentence = window.report.draft.sentence(L45)
    assert sentence.provenance is SentenceProvenance.EDITED_BY_PERSON and sentence.person == "Dr Ada Lovelace"
    assert panel.rows[L45].property("state") == "person"
    assert panel.rows[L45].status.text() == "Edited by Dr Ada Lovelace"
    assert window.report.dirty and panel.save_label.text() == "Unsaved changes"

    qtbot.waitUntil(lambda: not window.report.dirty, timeout=5000)  # 2 s after the last edit
    assert panel.save_label.text().startswith("Saved ")
    stored = window.store.load_report(window.session.study.study_instance_uid)
    assert stored.draft.sentence(L45).text == "Moderate central canal stenosis at L4-L5, reviewed."
    saves = [e for e in window.store.audit_trail() if e.event_type == "draft_saved"]
    assert saves[-1].actor == "Dr Ada Lovelace"
    assert "Moderate central canal stenosis at L4-L5, reviewed." in str(saves[-1].details["diff"])
    assert window.store.verify_audit_chain().ok
    assert window.worklist.topLevelItem(0).text(2) == "Draft"


def test_clicking_a_sentence_shows_its_evidence(opened, lumbar):
    window = opened()
    session = window.session
    session.set_slice(ViewSlot.MIDDLE, 0)
    QTest.mouseClick(window.report_panel.rows[L23].text.viewport(), Qt.MouseButton.LeftButton)
    _, key_index = lumbar.key_slice_index(session.study, session.findings, "L2-L3")
    assert session.view(ViewSlot.MIDDLE).slice_index == key_index
    assert session.selected_level == "L2-L3"
    assert window.report_panel.rows[L23].property("selected") is True
    assert window.report_panel.rows[L45].property("selected") is False
    window.report_panel.rows[L45].level_button.click()
    assert session.selected_level == "L4-L5"


def erase_through_sac(window, gui, size_mm=5.0, offset=0.0):
    view = window.panels[ViewSlot.MIDDLE].view
    window.session.go_to_level("L4-L5")
    view.render_now()
    (mask,) = [m for m in window.session.masks_on(ViewSlot.MIDDLE) if m.structure == "dural sac"]
    rows, cols = np.nonzero(mask.mask)
    window.tool_actions[EditTool.ERASER].trigger()
    window.mask_editor.set_size_mm(size_mm)
    gui.drag(view, [view.image_to_widget(rows.mean() + offset, cols.mean())])


def test_a_mask_edit_flags_the_persons_sentence_with_the_suggestion(opened, gui, qtbot, screenshot_dir):
    window = opened(matrix=128)
    panel = window.report_panel
    words = "Moderate narrowing at L4-L5 on my reading."
    type_into(qtbot, panel.rows[L45], words)

    erase_through_sac(window, gui)

    row = panel.rows[L45]
    assert row.text.toPlainText() == words
    assert row.property("state") == "stale" and row.stale_box.isVisible()
    assert (
        row.stale_label.text().startswith("⚠ Dural sac area")
        and "edited by a person" in row.stale_label.text()
    )
    suggestion = window.report.draft.sentence(L45).suggestion
    assert suggestion.text in row.suggestion_label.text()
    assert panel.review_label.property("pending") is True
    panel.scroll.ensureWidgetVisible(row)
    qtbot.wait(400)  # layouts settle
    window.save_screenshot(screenshot_dir / "report-stale-sentence.png")

    row.keep_button.click()
    kept = window.report.draft.sentence(L45)
    assert kept.text == words and kept.stale_reason is None and not panel.rows[L45].stale_box.isVisible()

    erase_through_sac(window, gui, size_mm=3.0, offset=-4.0)
    panel.rows[L45].use_button.click()
    taken = window.report.draft.sentence(L45)
    assert taken.provenance is SentenceProvenance.ACCEPTED_BY_PERSON and taken.text != words
    assert panel.rows[L45].text.toPlainText() == taken.text


def test_sign_off_dialog_signs_final_and_the_report_becomes_read_only(opened, modal, qtbot):
    window = opened()
    panel = window.report_panel

    def refuse_while_pending(dialog):
        assert isinstance(dialog, SignOffDialog)
        assert dialog.name_edit.text() == "Dr Ada Lovelace"
        assert dialog.pending_label.isVisible() and "still need review" in dialog.pending_label.text()
        dialog.attest_check.setChecked(True)
        assert not dialog.sign_button.isEnabled()
        dialog.reject()

    modal(panel.sign_button.click, refuse_while_pending)
    assert window.report.status is ReportStatus.DRAFT

    panel.accept_all_button.click()

    def sign_final(dialog):
        dialog.name_edit.setText("Dr Grace Hopper")
        assert not dialog.sign_button.isEnabled()  # the attestation is not ticked yet
        dialog.attest_check.setChecked(True)
        assert dialog.final_radio.isChecked() and dialog.sign_button.isEnabled()
        dialog.sign_button.click()

    modal(panel.sign_button.click, sign_final)
    assert window.report.status is ReportStatus.FINAL
    stored = window.store.load_report(window.session.study.study_instance_uid)
    assert stored.final_sign_off.radiologist == "Dr Grace Hopper"
    assert panel.status_badge.text() == "FINAL" and panel.review_label.text() == "Signed and locked"
    assert all(row.text.isReadOnly() and not row.accept_button.isVisible() for row in panel.rows.values())
    assert not panel.sign_button.isVisible() and not panel.accept_all_button.isVisible()
    assert panel.signature.isVisible() and "Dr Grace Hopper" in panel.signature.text()
    assert window.worklist.topLevelItem(0).text(2) == "Final"

    def add_addendum(dialog):
        assert isinstance(dialog, AddendumDialog)
        dialog.text_edit.setPlainText("Compared with the MRI of 2025: unchanged.")
        dialog.attest_check.setChecked(True)
        dialog.add_button.click()

    assert panel.addendum_button.isVisible()
    modal(panel.addendum_button.click, add_addendum)
    assert panel.addenda.isVisible() and "unchanged" in panel.addenda.text()
    assert [a.text for a in window.report.stored.addenda] == ["Compared with the MRI of 2025: unchanged."]


def test_the_intended_use_and_the_findings_model_are_always_in_sight(opened):
    window = opened()
    assert "Research use only" in window.banner.text()
    assert "Model: lss-vlm-spca 0.3.0" in window.banner_version.text()
    assert "lss-vlm-spca 0.3.0" in window.version_label.text()
    assert window.report_panel.model_label.text() == "Drafted from model lss-vlm-spca 0.3.0"
    assert window.report_dock.isVisible()
    assert window.report.draft.sentences[0].section is Section.TECHNIQUE


def test_settings_dialog_ok_keeps_the_dialog_open_on_a_bad_field(opened, modal, tmp_path, monkeypatch):
    from engine.runtime import model_pack

    # No pack anywhere: neither the user folder nor the bundled one.
    monkeypatch.setenv("LSS_MODEL_DIR", str(tmp_path / "no-models"))
    monkeypatch.setattr(model_pack, "bundled_models_dir", lambda: tmp_path / "no-bundled-models")
    from lss_desktop.app_settings import load_app_settings
    from lss_desktop.settings_dialog import SettingsDialog

    window = opened()
    bad = tmp_path / "broken.toml"
    bad.write_text("[template]\nname = 1\n")

    def fill(dialog):
        assert isinstance(dialog, SettingsDialog)
        dialog.user_edit.setText("Dr Grace Hopper")
        dialog.template_edit.setText(str(bad))
        dialog.accept()
        assert dialog.isVisible() and str(bad) in dialog.error_label.text()
        dialog.template_edit.setText("")
        dialog.ae_edit.setText("MAIN_PACS")
        dialog.host_edit.setText("pacs.example.org")
        dialog.port_spin.setValue(11112)
        assert not dialog.model_combo.isEnabled()  # no pack installed in this test
        assert dialog.model_combo.currentText() == "lss-default (not installed)"
        dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()

    modal(window.open_settings, fill)
    settings, problems = load_app_settings(window.data_dir / "desktop-settings.json")
    assert problems == () and settings == window.settings
    assert settings.user_name == "Dr Grace Hopper" and settings.device == "cpu"
    assert str(settings.pacs_node) == "MAIN_PACS@pacs.example.org:11112"
    assert window.report.person == "Dr Grace Hopper"


def test_settings_c_echo_test_reports_the_answer_and_the_failure(opened, qtbot, pacs_node):
    from lss_desktop.settings_dialog import SettingsDialog

    window = opened()
    node, _ = pacs_node
    dialog = SettingsDialog(window.settings, window.runner, window)
    dialog.ae_edit.setText(node.ae_title)
    dialog.host_edit.setText(node.host)
    dialog.port_spin.setValue(node.port)
    dialog.test_echo()
    qtbot.waitUntil(lambda: dialog.echo_label.text().startswith("✓"), timeout=10_000)
    assert f"{node} answered" in dialog.echo_label.text()
    dialog.port_spin.setValue(1 if node.port != 1 else 2)
    dialog.timeout_spin.setValue(2.0)
    dialog.test_echo()
    qtbot.waitUntil(lambda: dialog.echo_label.text().startswith("✗"), timeout=10_000)
    assert "PACS not reachable" in dialog.echo_label.text()
    dialog.close()


def test_leaving_the_window_saves_at_once(opened, qtbot):
    from PySide6.QtWidgets import QWidget

    window = opened()
    window.save_all_now()
    window.report.edit_sentence(L45, "Saved when the reader switched to another window.")
    assert window.report.dirty
    other = QWidget()
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not window.isActiveWindow(), timeout=5000)
    qtbot.waitUntil(lambda: not window.report.dirty, timeout=1000)  # well before the 2 s debounce
    stored = window.store.load_report(window.session.study.study_instance_uid)
    assert stored.draft.sentence(L45).text == "Saved when the reader switched to another window."
    other.close()


def test_settings_list_the_model_packs_the_engine_finds(opened, tmp_path, monkeypatch):
    import json

    from lss_desktop.settings_dialog import SettingsDialog

    models = tmp_path / "models"
    for folder, name, version in (
        ("a", "lss-default", "0.3.0"),
        ("b", "lss-default", "0.4.0"),
        ("c", "site-tuned", "1.0"),
    ):
        (models / folder).mkdir(parents=True)
        (models / folder / "manifest.json").write_text(json.dumps({"name": name, "version": version}))
    monkeypatch.setenv("LSS_MODEL_DIR", str(models))
    window = opened()
    dialog = SettingsDialog(window.settings, window.runner, window)
    combo = dialog.model_combo
    assert combo.isEnabled() and [combo.itemText(i) for i in range(combo.count())] == [
        "lss-default",
        "site-tuned",
    ]
    assert combo.currentText() == "lss-default"  # no pack named in the settings: the engine's default
    assert "0.4.0" in combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentIndex(1)
    assert dialog.settings().model_pack == "site-tuned"
    dialog.close()

"""The report editor: the draft in its sections (technique, findings per level, impression, the
drafted-by-software line), each sentence editable in place.

Sentences the software wrote are highlighted until a person accepts them (one by one or all at once)
or rewrites them; a person's sentence whose evidence changed after a mask edit shows why it may be
stale and what the software would write now ("Use suggestion" / "Keep mine"). Clicking a sentence
shows its evidence: the views go to its level's key slice and the level is selected. A final report
is read-only, with its signature and addenda. Every action is a call on the Qt-free ReportSession.
"""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QResizeEvent, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.reporting.model import ReportDraft, Section, Sentence, SentenceProvenance
from engine.reporting.sign_off import ReportStatus
from engine.storage.report_store import StorageError
from lss_desktop.report_session import DraftChange, ReportSession
from lss_desktop.session import ViewerSession

logger = logging.getLogger(__name__)

_SECTION_TITLES = {
    Section.TECHNIQUE: "Technique",
    Section.FINDINGS: "Findings",
    Section.IMPRESSION: "Impression",
}
_STATUS_BADGES = {
    ReportStatus.DRAFT: ("DRAFT", "draft"),
    ReportStatus.PRELIMINARY: ("PRELIMINARY", "preliminary"),
    ReportStatus.FINAL: ("FINAL", "final"),
}


def sentence_state(sentence: Sentence) -> str:
    """The look of a sentence: "stale", "ai" (awaiting review), "accepted" or "person"."""
    if sentence.stale_reason is not None:
        return "stale"
    if sentence.provenance is SentenceProvenance.AI_DRAFTED:
        return "ai"
    if sentence.provenance is SentenceProvenance.ACCEPTED_BY_PERSON:
        return "accepted"
    return "person"


def sentence_status_text(sentence: Sentence) -> str:
    who = sentence.person or "a person"
    return {
        SentenceProvenance.AI_DRAFTED: "Drafted by software · not yet reviewed",
        SentenceProvenance.ACCEPTED_BY_PERSON: f"Software draft accepted by {who}",
        SentenceProvenance.EDITED_BY_PERSON: f"Edited by {who}",
        SentenceProvenance.WRITTEN_BY_PERSON: f"Written by {who}",
    }[sentence.provenance]


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class WrappedLabel(QLabel):
    """A word-wrapped label that asks its layout for the height its text needs at its width
    (layouts inside scroll areas otherwise squeeze wrapped labels to one line)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.height():
            self.setFixedHeight(needed)


class SentenceText(QTextEdit):
    """A sentence's words: grows with its text; commits on focus-out or Ctrl+Enter, Esc reverts."""

    focused = Signal()
    committed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptRichText(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTabChangesFocus(True)
        self._original = ""
        self.document().setDocumentMargin(2)
        self.document().contentsChanged.connect(self._fit_height)

    def set_sentence_text(self, text: str) -> None:
        typing = self.hasFocus() and self.changed
        self._original = text
        if self.toPlainText() != text and not typing:  # never overwrite words being typed
            self.setPlainText(text)
        self._fit_height()

    @property
    def changed(self) -> bool:
        return self.toPlainText().strip() != self._original.strip()

    def _fit_height(self) -> None:
        self.document().setTextWidth(max(self.viewport().width(), 50))
        self.setFixedHeight(int(self.document().size().height()) + 4)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.focused.emit()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.commit()

    def commit(self) -> None:
        if self.changed and not self.isReadOnly():
            self.committed.emit(self.toPlainText().strip())

    @staticmethod
    def _is_commit_key(event: QKeyEvent) -> bool:
        return event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and bool(
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        )

    def event(self, event: QEvent) -> bool:
        # Ctrl+Enter commits the sentence being edited, before the window's Analyze shortcut.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._is_commit_key(event)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._is_commit_key(event):
            self.commit()
            self.clearFocus()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.setPlainText(self._original)
            self.clearFocus()
            return
        super().keyPressEvent(event)


class SentenceRow(QFrame):
    """One sentence: level chip, words, who is responsible, accept / stale actions."""

    evidence_requested = Signal(str)  # level
    edited = Signal(str, str)  # sentence id, text
    accept_requested = Signal(str)
    use_suggestion_requested = Signal(str)
    keep_mine_requested = Signal(str)

    def __init__(self, sentence: Sentence, read_only: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sentenceRow")
        self.sentence = sentence
        self.level_button = QToolButton()
        self.level_button.setObjectName("levelChip")
        self.level_button.setToolTip("Show this level's key image")
        self.level_button.clicked.connect(self._request_evidence)
        self.text = SentenceText()
        self.text.focused.connect(self._request_evidence)
        self.text.committed.connect(lambda words: self.edited.emit(self.sentence.sentence_id, words))
        self.status = QLabel()
        self.status.setObjectName("sentenceStatus")
        self.status.setWordWrap(True)  # the panel may be narrow
        self.accept_button = QPushButton("✓ Accept")
        self.accept_button.setObjectName("acceptButton")
        self.accept_button.setToolTip("Take responsibility for this sentence as it stands")
        self.accept_button.clicked.connect(lambda: self.accept_requested.emit(self.sentence.sentence_id))
        self.stale_label = WrappedLabel()
        self.stale_label.setObjectName("staleReason")
        self.suggestion_label = WrappedLabel()
        self.suggestion_label.setObjectName("suggestion")
        self.suggestion_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_button = QPushButton("Use suggestion")
        self.use_button.clicked.connect(lambda: self.use_suggestion_requested.emit(self.sentence.sentence_id))
        self.keep_button = QPushButton("Keep mine")
        self.keep_button.clicked.connect(lambda: self.keep_mine_requested.emit(self.sentence.sentence_id))

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(6)
        top.addWidget(self.level_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.text, 1)
        footer = QHBoxLayout()
        footer.setContentsMargins(0, 0, 0, 0)
        footer.addWidget(self.status, 1)
        footer.addWidget(self.accept_button)
        self.stale_box = QFrame()
        self.stale_box.setObjectName("staleBox")
        stale_buttons = QHBoxLayout()
        stale_buttons.setContentsMargins(0, 0, 0, 0)
        stale_buttons.addStretch(1)
        stale_buttons.addWidget(self.use_button)
        stale_buttons.addWidget(self.keep_button)
        stale_layout = QVBoxLayout(self.stale_box)
        stale_layout.setContentsMargins(8, 6, 8, 6)
        stale_layout.setSpacing(4)
        stale_layout.addWidget(self.stale_label)
        stale_layout.addWidget(self.suggestion_label)
        stale_layout.addLayout(stale_buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addLayout(footer)
        layout.addWidget(self.stale_box)
        self.set_sentence(sentence, read_only)

    def _request_evidence(self) -> None:
        if self.sentence.level is not None:
            self.evidence_requested.emit(self.sentence.level)

    def set_sentence(self, sentence: Sentence, read_only: bool) -> None:
        self.sentence = sentence
        state = sentence_state(sentence)
        if self.property("state") != state:
            self.setProperty("state", state)
            _repolish(self)
            _repolish(self.status)  # its colour follows the row's state
        self.level_button.setText(sentence.level or "")
        self.level_button.setVisible(sentence.level is not None)
        self.text.setReadOnly(read_only)
        self.text.set_sentence_text(sentence.text)
        self.status.setText(
            "Possibly stale · " + sentence_status_text(sentence)
            if state == "stale"
            else sentence_status_text(sentence)
        )
        self.accept_button.setVisible(not read_only and state == "ai")
        stale = state == "stale" and not read_only
        self.stale_box.setVisible(stale)
        if stale:
            reason = (sentence.stale_reason or "the evidence changed").removeprefix("possibly stale: ")
            self.stale_label.setText(f"⚠ {reason[0].upper()}{reason[1:]}")
            suggestion = sentence.suggestion
            self.suggestion_label.setVisible(suggestion is not None)
            self.use_button.setVisible(suggestion is not None)
            if suggestion is not None:
                self.suggestion_label.setText(f"Software now suggests: “{suggestion.text}”")
            self.keep_button.setToolTip("Keep your words; they now stand for the current evidence")

    def set_selected(self, selected: bool) -> None:
        if self.property("selected") != selected:
            self.setProperty("selected", selected)
            _repolish(self)


class ReportPanel(QWidget):
    """The report dock's content; see the module docstring."""

    sign_requested = Signal()
    addendum_requested = Signal()
    export_pdf_requested = Signal()
    export_dicom_requested = Signal()
    send_to_pacs_requested = Signal()
    problem = Signal(str, str)  # title, message

    def __init__(self, viewer: ViewerSession, report: ReportSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.report = report
        self._closed = False
        self.rows: dict[str, SentenceRow] = {}

        self.status_badge = QLabel()
        self.status_badge.setObjectName("statusBadge")
        self.review_label = QLabel()
        self.review_label.setObjectName("reviewCount")
        self.save_label = QLabel()
        self.save_label.setObjectName("saveState")
        self.model_label = QLabel()
        self.model_label.setObjectName("modelLine")
        self.model_label.setWordWrap(True)
        self.model_label.setMinimumWidth(80)
        self.accept_all_button = QPushButton("Accept all")
        self.accept_all_button.setToolTip("Accept every software sentence not yet reviewed (stale ones stay)")
        self.accept_all_button.clicked.connect(self._accept_all)
        self.sign_button = QPushButton("Sign…")
        self.sign_button.setObjectName("signButton")
        self.sign_button.clicked.connect(self.sign_requested)
        self.addendum_button = QPushButton("Addendum…")
        self.addendum_button.clicked.connect(self.addendum_requested)
        self.export_button = QPushButton("Export")
        export_menu = QMenu(self.export_button)
        self.export_pdf_action = export_menu.addAction("PDF report…", self.export_pdf_requested.emit)
        self.export_dicom_action = export_menu.addAction(
            "DICOM SEG, SR and PDF…", self.export_dicom_requested.emit
        )
        self.send_action = export_menu.addAction("Send to PACS", self.send_to_pacs_requested.emit)
        self.export_button.setMenu(export_menu)

        header_top = QHBoxLayout()
        header_top.addWidget(self.status_badge)
        header_top.addWidget(self.review_label, 1)
        header_middle = QHBoxLayout()
        header_middle.addWidget(self.model_label, 1)
        header_middle.addWidget(self.save_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_all_button)
        buttons.addWidget(self.sign_button)
        buttons.addWidget(self.addendum_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        header = QFrame()
        header.setObjectName("reportHeader")
        header_layout = QVBoxLayout(header)
        header_layout.setContentsMargins(10, 8, 10, 8)
        header_layout.setSpacing(6)
        header_layout.addLayout(header_top)
        header_layout.addLayout(header_middle)
        header_layout.addLayout(buttons)

        self.body = QWidget()
        self.body.setObjectName("reportBody")
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(8, 8, 8, 8)
        self.body_layout.setSpacing(4)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.body)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.placeholder = QLabel(
            "No report yet.\n\nAnalyse the study to draft one: the draft appears here, each "
            "sentence linked to its images."
        )
        self.placeholder.setObjectName("reportPlaceholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.attribution = WrappedLabel()
        self.attribution.setObjectName("attribution")
        self.signature = WrappedLabel()
        self.signature.setObjectName("signatureBlock")
        self.addenda = WrappedLabel()
        self.addenda.setObjectName("addenda")
        self.addenda.setTextFormat(Qt.TextFormat.RichText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.scroll, 1)

        self._subscriptions: tuple[tuple[Any, Any], ...] = (
            (report.events.draft_changed, self._on_draft_changed),
            (report.events.status_changed, self._on_status_changed),
            (report.events.saved, self._on_saved),
            (report.events.dirty_changed, self._on_dirty_changed),
            (viewer.events.selection_changed, self._on_selection_changed),
        )
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)
        self._rebuild()
        self._update_header()

    # ---- building ------------------------------------------------------------------------

    def _clear_body(self) -> None:
        """Take every item out of the body; sentence rows and titles go, the fixed labels stay."""
        kept = (self.placeholder, self.attribution, self.signature, self.addenda)
        while self.body_layout.count():
            widget = self.body_layout.takeAt(0).widget()
            if widget is not None and widget not in kept:
                widget.deleteLater()
        for widget in kept:
            widget.hide()
        self.rows.clear()

    def _section_title(self, text: str) -> QLabel:
        label = QLabel(text.upper())
        label.setObjectName("sectionTitle")
        return label

    def _rebuild(self) -> None:
        self._clear_body()
        draft = self.report.draft
        if draft is None:
            self.body_layout.addWidget(self.placeholder)
            self.placeholder.show()
            self.body_layout.addStretch(1)
            return
        read_only = self.report.read_only
        for section in Section:
            self.body_layout.addWidget(self._section_title(_SECTION_TITLES[section]))
            for sentence in draft.section(section):
                row = SentenceRow(sentence, read_only)
                row.evidence_requested.connect(self._show_evidence)
                row.edited.connect(self._edit)
                row.accept_requested.connect(lambda sid: self._act(self.report.accept_sentence, sid))
                row.use_suggestion_requested.connect(lambda sid: self._act(self.report.use_suggestion, sid))
                row.keep_mine_requested.connect(lambda sid: self._act(self.report.accept_sentence, sid))
                row.set_selected(sentence.level is not None and sentence.level == self.viewer.selected_level)
                self.rows[sentence.sentence_id] = row
                self.body_layout.addWidget(row)
        self.attribution.setText(draft.attribution)
        self.body_layout.addWidget(self.attribution)
        self.attribution.show()
        self.body_layout.addWidget(self.signature)
        self.body_layout.addWidget(self.addenda)
        self._fill_signature()
        self.body_layout.addStretch(1)

    def _fill_signature(self) -> None:
        stored = self.report.stored
        signed = stored.sign_offs if stored is not None else ()
        self.signature.setVisible(bool(signed))
        self.signature.setText(
            "\n".join(
                f"Signed {s.status.value} by {s.radiologist}, {s.signed_utc.replace('T', ' ')[:16]} UTC — {s.attestation}"
                for s in signed
            )
        )
        addenda = stored.addenda if stored is not None else ()
        self.addenda.setVisible(bool(addenda))
        self.addenda.setText(
            "<b>ADDENDA</b>"
            + "".join(
                f"<p><b>Addendum {i}</b> — {a.author}, {a.created_utc.replace('T', ' ')[:16]} UTC<br>{_html(a.text)}</p>"
                for i, a in enumerate(addenda, start=1)
            )
        )

    # ---- following the report ------------------------------------------------------------

    def _on_draft_changed(self, draft: ReportDraft | None, change: DraftChange) -> None:
        if draft is None or change.layout or not set(change.sentence_ids) <= self.rows.keys():
            self._rebuild()
        else:
            read_only = self.report.read_only
            for sentence_id in change.sentence_ids:
                self.rows[sentence_id].set_sentence(draft.sentence(sentence_id), read_only)
        self._update_header()

    def _on_status_changed(self, _status: ReportStatus | None) -> None:
        self._update_header()

    def _on_saved(self, _version: int, saved_utc: str) -> None:
        self._update_header()

    def _on_dirty_changed(self, _dirty: bool) -> None:
        self._update_header()

    def _on_selection_changed(self, level: str | None) -> None:
        for row in self.rows.values():
            row.set_selected(level is not None and row.sentence.level == level)

    def _update_header(self) -> None:
        report = self.report
        draft = report.draft
        stored = report.stored
        status = report.status
        if stored is not None and stored.compromised:
            badge, state = "COMPROMISED", "compromised"
        elif status is None:
            badge, state = "NO REPORT", "none"
        else:
            badge, state = _STATUS_BADGES[status]
        self.status_badge.setText(badge)
        self.status_badge.setProperty("state", state)
        _repolish(self.status_badge)
        pending = len(report.sentences_needing_review)
        if draft is None:
            self.review_label.setText("")
        elif report.read_only:
            self.review_label.setText(
                "Signed and locked" if not (stored and stored.compromised) else "Do not use"
            )
        elif pending:
            self.review_label.setText(f"{pending} sentence{'s' if pending != 1 else ''} to review")
        else:
            self.review_label.setText("All sentences reviewed")
        self.review_label.setProperty("pending", bool(pending) and not report.read_only)
        _repolish(self.review_label)
        if report.store is None:
            self.save_label.setText("Not saved (no database)")
        elif report.dirty:
            self.save_label.setText("Unsaved changes")
        elif stored is not None:
            self.save_label.setText(f"Saved {_local_clock(stored.saved_utc)}")
        else:
            self.save_label.setText("")
        provenance = draft.findings_provenance if draft is not None else None
        self.model_label.setText(
            f"Drafted from model {provenance.model_name} {provenance.model_version}" if provenance else ""
        )
        self.model_label.setVisible(provenance is not None)
        editable = draft is not None and not report.read_only
        self.accept_all_button.setEnabled(editable and pending > 0)
        self.sign_button.setEnabled(editable and report.store is not None)
        self.accept_all_button.setVisible(not report.read_only)
        self.sign_button.setVisible(not report.read_only)
        self.sign_button.setToolTip(
            "Sign the report as preliminary or final"
            if report.store is not None
            else "No reading database is open: the report cannot be signed"
        )
        final = status is ReportStatus.FINAL and not (stored and stored.compromised)
        self.addendum_button.setVisible(final)
        self.export_button.setEnabled(draft is not None and report.store is not None)

    # ---- actions -------------------------------------------------------------------------

    def _show_evidence(self, level: str) -> None:
        try:
            self.viewer.go_to_level(level)
        except KeyError:
            self.viewer.select_level(level)
            logger.info("no findings loaded for %s: its images cannot be shown", level)

    def _act(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except (StorageError, ValueError, KeyError) as exc:
            self.problem.emit("Report", str(exc))

    def _edit(self, sentence_id: str, text: str) -> None:
        # Deferred: the edit may rebuild rows, and the row sending this is still in its focus-out.
        QTimer.singleShot(0, lambda: self._act(self.report.edit_sentence, sentence_id, text))

    def _accept_all(self) -> None:
        self.commit_pending_edit()
        self._act(self.report.accept_all)

    def commit_pending_edit(self) -> None:
        """Commit the sentence being typed (e.g. before saving, signing or closing)."""
        for sentence_id, row in list(self.rows.items()):
            if row.text.changed and not row.text.isReadOnly():
                self._act(self.report.edit_sentence, sentence_id, row.text.toPlainText().strip())

    def close_panel(self) -> None:
        if not self._closed:
            self._closed = True
            for emitter, callback in self._subscriptions:
                emitter.disconnect(callback)


def _html(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def _local_clock(utc_iso: str) -> str:
    try:
        moment = datetime.fromisoformat(utc_iso.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return utc_iso
    return moment.strftime("%H:%M:%S")

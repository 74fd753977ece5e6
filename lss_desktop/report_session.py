"""The report of the open study: drafting from the findings, a person's edits, redrafting after mask
edits, saving, sign-off and addenda through the reading database. Qt-free.

The report follows the viewer session: when a study opens, its stored report (if any) is shown;
when findings arrive, the stored or current draft is redrafted against them (a person's words are
kept and flagged as possibly stale, never overwritten: `engine.reporting.revision`), or a fresh draft
is written; a mask edit (`findings_edited`) redrafts only the sentences whose evidence changed.
Every change marks the report unsaved until `save()` stores it (the store audits each save).
A final report is read-only; it changes only by addenda. Without a store (e.g. the screenshot
mode) the draft lives in memory and cannot be signed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from engine.findings import StudyFindings
from engine.reporting.drafting import draft_report
from engine.reporting.model import ReportDraft, Sentence
from engine.reporting.revision import (
    accept_all_sentences,
    accept_sentence,
    accept_suggestion,
    edit_sentence,
    redraft_after_findings_change,
)
from engine.reporting.sign_off import DEFAULT_ATTESTATION, Addendum, ReportStatus, SignOff
from engine.reporting.template import ReportTemplate, load_report_template
from engine.storage.report_store import ReportStore, StorageError, StoredReport
from engine.study.model import Study
from lss_desktop.events import EventEmitter
from lss_desktop.session import ViewerSession

logger = logging.getLogger(__name__)


class NoReportStoreError(StorageError):
    """The app runs without a reading database (screenshot mode): reports cannot be saved or signed."""


@dataclass(frozen=True)
class DraftChange:
    """What changed in the draft: the ids of changed, added or removed sentences; `layout` is True
    when sentences were added, removed or reordered (or the draft was replaced as a whole)."""

    sentence_ids: frozenset[str]
    layout: bool


class ReportEvents:
    def __init__(self) -> None:
        self.draft_changed = EventEmitter("draft_changed")  # (draft | None, DraftChange)
        self.status_changed = EventEmitter("status_changed")  # (ReportStatus | None)
        self.saved = EventEmitter("saved")  # (version, saved_utc)
        self.dirty_changed = EventEmitter("dirty_changed")  # (bool: unsaved changes)

    def all(self) -> tuple[EventEmitter, ...]:
        return tuple(v for v in vars(self).values() if isinstance(v, EventEmitter))


def draft_change(old: ReportDraft | None, new: ReportDraft | None) -> DraftChange:
    """Sentences of `new` that are not the very objects of `old` (engine redrafts keep unaffected
    sentences as the same objects), plus sentences that left."""
    if old is None or new is None:
        ids = {s.sentence_id for d in (old, new) if d is not None for s in d.sentences}
        return DraftChange(frozenset(ids), layout=True)
    before = {s.sentence_id: s for s in old.sentences}
    after = {s.sentence_id: s for s in new.sentences}
    changed = {i for i, s in after.items() if before.get(i) is not s} | (before.keys() - after.keys())
    layout = [s.sentence_id for s in old.sentences] != [s.sentence_id for s in new.sentences]
    return DraftChange(frozenset(changed), layout=layout or old.attribution != new.attribution)


class ReportSession:
    """See the module docstring. All methods run on the GUI thread (the store's connection is bound
    to the thread that opened it)."""

    def __init__(
        self,
        viewer: ViewerSession,
        store: ReportStore | None,
        person: str,
        template: ReportTemplate | None = None,
    ) -> None:
        self.viewer = viewer
        self.store = store
        self.events = ReportEvents()
        self._person = person.strip()
        self._template = template or load_report_template()
        self._draft: ReportDraft | None = None
        self._stored: StoredReport | None = None
        self._dirty = False
        self._subscriptions = (
            (viewer.events.study_changed, self._on_study_changed),
            (viewer.events.findings_changed, self._on_findings_changed),
            (viewer.events.findings_edited, self._on_findings_edited),
        )
        for emitter, callback in self._subscriptions:
            emitter.connect(callback)

    # ---- reading -------------------------------------------------------------------------

    @property
    def draft(self) -> ReportDraft | None:
        return self._draft

    @property
    def stored(self) -> StoredReport | None:
        """The report as last loaded from or saved to the store (sign-offs, addenda, integrity)."""
        return self._stored

    @property
    def status(self) -> ReportStatus | None:
        if self._stored is not None:
            return self._stored.status
        return ReportStatus.DRAFT if self._draft is not None else None

    @property
    def read_only(self) -> bool:
        """True for a final or compromised report: only addenda may be added (to a final one)."""
        return self._stored is not None and (
            self._stored.status is ReportStatus.FINAL or self._stored.compromised
        )

    @property
    def dirty(self) -> bool:
        """True while the draft has changes the store does not have yet."""
        return self._dirty

    @property
    def person(self) -> str:
        return self._person

    def set_person(self, person: str) -> None:
        self._person = person.strip()

    @property
    def template(self) -> ReportTemplate:
        return self._template

    def set_template(self, template: ReportTemplate) -> None:
        """Use another site template for drafts written from now on (sentences already drafted stay)."""
        self._template = template

    @property
    def sentences_needing_review(self) -> tuple[Sentence, ...]:
        return () if self._draft is None else self._draft.needs_review

    # ---- following the viewer ------------------------------------------------------------

    def _set_draft(self, draft: ReportDraft | None, dirty: bool) -> None:
        change = draft_change(self._draft, draft)
        self._draft = draft
        self._set_dirty(dirty)
        if change.sentence_ids or change.layout:
            self.events.draft_changed.emit(draft, change)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.events.dirty_changed.emit(dirty)

    def _on_study_changed(self, study: Study | None) -> None:
        self._stored = None
        self._set_draft(None, dirty=False)
        if study is not None and self.store is not None:
            try:
                self._stored = self.store.load_report(study.study_instance_uid)
            except KeyError:
                self._stored = None
            else:
                self._set_draft(self._stored.draft, dirty=False)
        self.events.status_changed.emit(self.status)

    def _on_findings_changed(self, findings: StudyFindings | None) -> None:
        if findings is None or self.read_only:
            return
        study = self.viewer.study
        if self._draft is None:
            self._set_draft(draft_report(findings, study, self._template), dirty=True)
            return
        redrafted = redraft_after_findings_change(self._draft, findings, self._template)
        change = draft_change(self._draft, redrafted)
        self._set_draft(redrafted, dirty=self._dirty or bool(change.sentence_ids) or change.layout)

    def _on_findings_edited(self, findings: StudyFindings, _levels: tuple[str, ...]) -> None:
        if self._draft is None or self.read_only:
            return
        redrafted = redraft_after_findings_change(self._draft, findings, self._template)
        if redrafted is not self._draft:
            self._set_draft(redrafted, dirty=True)

    # ---- a person's changes --------------------------------------------------------------

    def _change(self, draft: ReportDraft) -> None:
        if self.read_only:
            raise StorageError("the report is final: add an addendum instead")
        if draft is not self._draft:
            self._set_draft(draft, dirty=True)

    def _current(self) -> ReportDraft:
        if self._draft is None:
            raise StorageError("there is no report draft yet: analyse the study first")
        return self._draft

    def edit_sentence(self, sentence_id: str, text: str) -> None:
        """The person rewrites a sentence (it becomes the person's words)."""
        self._change(edit_sentence(self._current(), sentence_id, text, self._person))

    def accept_sentence(self, sentence_id: str) -> None:
        """The person accepts a sentence as it stands; on a stale sentence this is "keep mine"."""
        self._change(accept_sentence(self._current(), sentence_id, self._person))

    def accept_all(self) -> None:
        self._change(accept_all_sentences(self._current(), self._person))

    def use_suggestion(self, sentence_id: str) -> None:
        """The person takes the software's current sentence in place of their stale one."""
        self._change(accept_suggestion(self._current(), sentence_id, self._person))

    # ---- the store -----------------------------------------------------------------------

    def _require_store(self) -> ReportStore:
        if self.store is None:
            raise NoReportStoreError("no reading database is open: the report cannot be saved or signed")
        return self.store

    def _ensure_on_worklist(self, store: ReportStore, uid: str) -> None:
        try:
            store.worklist_entry(uid)
        except KeyError:
            study = self.viewer.study
            store.open_study(
                uid,
                study.root if study is not None else "",
                self._person,
                study.description if study is not None else "",
                study.study_date if study is not None else "",
            )

    def save(self) -> int | None:
        """Store the draft if it has unsaved changes; returns the stored version (None: nothing to
        save). Raises StorageError (e.g. DraftConflictError when another copy saved first)."""
        if not self._dirty or self._draft is None or self.read_only:
            return None
        store = self._require_store()
        self._ensure_on_worklist(store, self._draft.study_instance_uid)
        expected = 0 if self._stored is None else self._stored.version
        version = store.save_draft(self._draft, self._person, expected_version=expected)
        self._stored = store.load_report(self._draft.study_instance_uid)
        self._set_dirty(False)
        self.events.saved.emit(version, self._stored.saved_utc)
        return version

    def sign(self, status: ReportStatus, radiologist: str, attestation: str = DEFAULT_ATTESTATION) -> SignOff:
        """Save, then sign the report as preliminary or final (refusals raise StorageError subclasses
        whose messages say why, e.g. sentences still needing review)."""
        store = self._require_store()
        self.save()
        if self._draft is None:
            raise StorageError("there is no report to sign")
        signature = store.sign(self._draft.study_instance_uid, status, radiologist, attestation)
        self._reload()
        return signature

    def add_addendum(self, text: str, author: str, attestation: str = DEFAULT_ATTESTATION) -> Addendum:
        store = self._require_store()
        if self._draft is None:
            raise StorageError("there is no report to add an addendum to")
        addendum = store.add_addendum(self._draft.study_instance_uid, text, author, attestation)
        self._reload()
        return addendum

    def _reload(self) -> None:
        assert self.store is not None and self._draft is not None
        self._stored = self.store.load_report(self._draft.study_instance_uid)
        # Signing changes what may be edited, so the whole report is laid out again.
        change = DraftChange(frozenset(s.sentence_id for s in self._draft.sentences), layout=True)
        self._draft = self._stored.draft
        self._set_dirty(False)
        self.events.status_changed.emit(self.status)
        self.events.draft_changed.emit(self._draft, change)

    def close(self) -> None:
        for emitter, callback in self._subscriptions:
            emitter.disconnect(callback)

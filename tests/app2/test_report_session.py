"""The report of the open study without Qt: drafting when findings arrive, redrafting after a mask
edit (a person's words kept and flagged, never overwritten), saving through the reading database
(audited), sign-off, the lock of a final report, addenda, reopening a study, and working without a
database."""

from __future__ import annotations

import numpy as np
import pytest

from engine.findings import Structure
from engine.reporting.drafting import findings_sentence_id
from engine.reporting.model import SentenceProvenance
from engine.reporting.sign_off import ReportStatus
from engine.storage.report_store import SignOffRefused, StorageError
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.mask_editing import EditTool, MaskEditor
from lss_desktop.report_session import NoReportStoreError, ReportSession
from lss_desktop.session import ViewerSession

L45 = findings_sentence_id("L4-L5")


@pytest.fixture
def reading(lumbar, store):
    study = lumbar.make_study(matrix=128)
    session = ViewerSession()
    report = ReportSession(session, store, lumbar.PERSON)
    session.set_study(study)
    return session, report, study


def erase_sac_at(session, lumbar, level, size_mm=6.0, row_offset=0.0):
    """Erase a dab in the level's dural sac on its key slice (`row_offset` pixels from its middle)."""
    series_index, slice_index = lumbar.key_slice_index(session.study, session.findings, level)
    session.show_series(ViewSlot.MIDDLE, session.study.series[series_index].key)
    session.set_slice(ViewSlot.MIDDLE, slice_index)
    editor = MaskEditor(session)
    editor.set_tool(EditTool.ERASER)
    editor.set_size_mm(size_mm)
    (mask,) = [m for m in session.masks_on(ViewSlot.MIDDLE) if m.structure == Structure.DURAL_SAC.value]
    rows, cols = np.nonzero(mask.mask)
    editor.begin_stroke(ViewSlot.MIDDLE)
    assert editor.paint(rows.mean() + row_offset, cols.mean()) > 0
    editor.end_stroke()
    editor.close()


def test_findings_give_a_draft_that_is_saved_audited_and_on_the_worklist(reading, lumbar, store):
    session, report, study = reading
    changes = []
    report.events.draft_changed.connect(lambda draft, change: changes.append(change))
    session.set_findings(lumbar.level_findings(study))

    assert report.draft is not None and report.dirty
    assert len(report.sentences_needing_review) == len(report.draft.sentences)
    assert changes[-1].layout
    assert report.save() == 1
    assert not report.dirty and report.save() is None  # nothing new to save
    assert store.worklist_entry(study.study_instance_uid).status == "draft"
    assert store.load_report(study.study_instance_uid).draft == report.draft
    assert [e.event_type for e in store.audit_trail(study.study_instance_uid)] == [
        "study_opened",
        "draft_saved",
    ]


def test_a_mask_edit_redrafts_only_that_levels_sentences(reading, lumbar):
    session, report, study = reading
    session.set_findings(lumbar.level_findings(study))
    report.save()
    before = report.draft
    changes = []
    report.events.draft_changed.connect(lambda draft, change: changes.append(change))

    erase_sac_at(session, lumbar, "L4-L5")

    after = report.draft
    assert report.dirty
    changed = changes[-1].sentence_ids
    assert L45 in changed and all("L4-L5" in sentence_id for sentence_id in changed)
    assert after.sentence(L45).text != before.sentence(L45).text
    area = session.findings.finding_for("L4-L5").dural_sac_area_mm2
    assert f"{round(area)} mm²" in after.sentence(L45).text
    assert after.sentence(L45).evidence.mask.edited_by_person
    assert after.sentence(findings_sentence_id("L3-L4")) is before.sentence(findings_sentence_id("L3-L4"))


def test_a_persons_sentence_is_never_overwritten_but_flagged_with_the_suggestion(reading, lumbar):
    session, report, study = reading
    session.set_findings(lumbar.level_findings(study))
    words = "Moderate narrowing of the thecal sac at L4-L5, as read by me."
    report.edit_sentence(L45, words)
    assert report.draft.sentence(L45).provenance is SentenceProvenance.EDITED_BY_PERSON
    assert report.draft.sentence(L45).person == lumbar.PERSON

    erase_sac_at(session, lumbar, "L4-L5")
    stale = report.draft.sentence(L45)
    assert stale.text == words
    assert stale.stale_reason.startswith("possibly stale: dural sac area")
    assert "the mask was edited by a person" in stale.stale_reason
    assert stale.suggestion is not None and "mm²" in stale.suggestion.text

    report.accept_sentence(L45)  # "keep mine"
    kept = report.draft.sentence(L45)
    assert kept.text == words and kept.stale_reason is None

    erase_sac_at(session, lumbar, "L4-L5", size_mm=3.0, row_offset=-5.0)
    report.use_suggestion(L45)
    taken = report.draft.sentence(L45)
    assert taken.provenance is SentenceProvenance.ACCEPTED_BY_PERSON and taken.text != words


def test_sign_off_is_refused_until_every_sentence_is_reviewed_then_final_locks(reading, lumbar, store):
    session, report, study = reading
    session.set_findings(lumbar.level_findings(study))
    with pytest.raises(SignOffRefused, match="still need review"):
        report.sign(ReportStatus.FINAL, lumbar.PERSON)
    report.accept_all()
    assert report.sentences_needing_review == ()
    statuses = []
    report.events.status_changed.connect(statuses.append)

    signature = report.sign(ReportStatus.FINAL, lumbar.PERSON)

    assert signature.radiologist == lumbar.PERSON
    assert report.status is ReportStatus.FINAL and report.read_only and statuses == [ReportStatus.FINAL]
    with pytest.raises(StorageError, match="final"):
        report.edit_sentence(L45, "Too late.")
    erase_sac_at(session, lumbar, "L4-L5")  # the window locks the editor; the report ignores it anyway
    assert report.draft == store.load_report(study.study_instance_uid).draft
    addendum = report.add_addendum("Compared with the prior study: unchanged.", lumbar.PERSON)
    assert report.stored.addenda == (addendum,)
    events = [e.event_type for e in store.audit_trail(study.study_instance_uid)]
    assert events[-2:] == ["signed_final", "addendum_added"]


def test_reopening_a_study_shows_its_stored_draft_and_same_findings_change_nothing(reading, lumbar, store):
    session, report, study = reading
    findings = lumbar.level_findings(study)
    session.set_findings(findings)
    report.edit_sentence(L45, "My own words.")
    report.save()
    report.close()

    reopened_session = ViewerSession()
    reopened = ReportSession(reopened_session, store, lumbar.PERSON)
    reopened_session.set_study(study)
    assert reopened.draft.sentence(L45).text == "My own words." and not reopened.dirty
    reopened_session.set_findings(lumbar.level_findings(study))
    assert not reopened.dirty and reopened.draft.sentence(L45).stale_reason is None


def test_without_a_database_the_draft_lives_in_memory_and_cannot_be_signed(lumbar):
    session = ViewerSession()
    report = ReportSession(session, None, lumbar.PERSON)
    study = lumbar.make_study(matrix=48)
    session.set_study(study)
    session.set_findings(lumbar.level_findings(study))
    report.accept_all()
    with pytest.raises(NoReportStoreError):
        report.save()
    with pytest.raises(NoReportStoreError):
        report.sign(ReportStatus.FINAL, lumbar.PERSON)

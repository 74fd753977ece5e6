"""The reading database: worklist, drafts, statuses, locking, addenda, hashes and the audit chain."""

from __future__ import annotations

import sqlite3

import pytest

from engine.reporting.revision import accept_all_sentences, edit_sentence
from engine.reporting.sign_off import ReportStatus
from engine.storage.audit import AuditEvent
from engine.storage.data_dir import DATABASE_FILENAME, user_data_dir
from engine.storage.report_store import (
    DraftConflictError,
    ReportIntegrityError,
    ReportLockedError,
    ReportStore,
    SignOffRefused,
    StorageError,
)

L45 = "findings/L4-L5/central_canal_stenosis"


@pytest.fixture
def uid(store, case):
    store.open_study(case.study.study_instance_uid, "/studies/0042", "Dr A", "MRI LUMBAR SPINE", "20261115")
    return case.study.study_instance_uid


def _raw(store: ReportStore) -> sqlite3.Connection:
    return sqlite3.connect(store.path, isolation_level=None)


def test_database_uses_wal_and_foreign_keys(store):
    assert store.path.name == DATABASE_FILENAME
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.integrity_check() == "ok"


def test_data_dir_from_argument_environment_or_platform(tmp_path, monkeypatch):
    monkeypatch.setenv("LSS_DATA_DIR", str(tmp_path / "env"))
    assert user_data_dir() == tmp_path / "env" and (tmp_path / "env").is_dir()
    assert user_data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("LSS_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_data_dir() == tmp_path / "xdg" / "lss-desktop"


def test_worklist_records_opened_studies_and_their_status(store, uid, draft):
    entry = store.worklist_entry(uid)
    assert entry.status == "new" and entry.folder_path == "/studies/0042" and entry.study_date == "20261115"
    store.open_study(uid, "/studies/0042-copy", "Dr B")
    again = store.worklist_entry(uid)
    assert again.folder_path == "/studies/0042-copy" and again.first_opened_utc == entry.first_opened_utc
    store.save_draft(draft, "Dr A")
    assert [e.status for e in store.worklist()] == ["draft"]
    events = [e.event_type for e in store.audit_trail(uid)]
    assert events == ["study_opened", "study_opened", "draft_saved"]


def test_drafts_are_versioned_and_unchanged_saves_are_free(store, uid, draft):
    assert store.save_draft(draft, "Dr A") == 1
    assert store.save_draft(draft, "Dr A") == 1
    edited = edit_sentence(draft, L45, "Severe canal stenosis at L4/L5.", "Dr A")
    assert store.save_draft(edited, "Dr A", expected_version=1) == 2
    stored = store.load_report(uid)
    assert stored.version == 2 and stored.draft == edited and stored.status is ReportStatus.DRAFT
    last = store.audit_trail(uid)[-1]
    assert last.event_type == AuditEvent.DRAFT_SAVED and last.actor == "Dr A"
    assert last.model_version == "lss-vlm-spca 0.3.0"
    assert last.details["diff"] == {
        "changed": [
            {
                "id": L45,
                "text": [draft.sentence(L45).text, "Severe canal stenosis at L4/L5."],
                "provenance": ["ai_drafted", "edited_by_person"],
                "person": [None, "Dr A"],
            }
        ]
    }
    assert last.occurred_utc.endswith("Z") and "T" in last.occurred_utc


def test_a_stale_copy_cannot_overwrite_a_newer_draft(store, uid, draft):
    store.save_draft(draft, "Dr A")
    store.save_draft(edit_sentence(draft, L45, "Edited by A.", "Dr A"), "Dr A", expected_version=1)
    with pytest.raises(DraftConflictError, match="saved at version 2"):
        store.save_draft(edit_sentence(draft, L45, "Edited by B.", "Dr B"), "Dr B", expected_version=1)
    assert store.load_report(uid).draft.sentence(L45).text == "Edited by A."


def test_a_draft_needs_its_study_on_the_worklist(store, draft):
    with pytest.raises(StorageError, match="not on the worklist"):
        store.save_draft(draft, "Dr A")


def test_signing_needs_every_sentence_reviewed(store, uid, draft):
    store.save_draft(draft, "Dr A")
    with pytest.raises(SignOffRefused, match="still need review"):
        store.sign(uid, ReportStatus.FINAL, "Dr A")


def test_draft_preliminary_final_then_locked_and_addenda(store, uid, draft):
    reviewed = accept_all_sentences(draft, "Dr A")
    store.save_draft(reviewed, "Dr A")
    prelim = store.sign(uid, ReportStatus.PRELIMINARY, "Dr Resident", "Preliminary read.")
    assert prelim.status is ReportStatus.PRELIMINARY and store.worklist_entry(uid).status == "preliminary"
    changed = edit_sentence(reviewed, L45, "Severe central canal stenosis at L4/L5.", "Dr A")
    assert store.save_draft(changed, "Dr A") == 2  # preliminary may still change
    final = store.sign(uid, ReportStatus.FINAL, "Dr A. Radiologist")
    assert final.radiologist == "Dr A. Radiologist" and "take responsibility" in final.attestation
    stored = store.load_report(uid)
    assert stored.status is ReportStatus.FINAL and not stored.compromised
    assert stored.final_sign_off == final and stored.draft == changed
    assert [s.status for s in stored.sign_offs] == [ReportStatus.PRELIMINARY, ReportStatus.FINAL]

    with pytest.raises(ReportLockedError, match="final: add an addendum"):
        store.save_draft(edit_sentence(changed, L45, "Changed after signing.", "Dr A"), "Dr A")
    with pytest.raises(SignOffRefused, match="cannot become preliminary"):
        store.sign(uid, ReportStatus.PRELIMINARY, "Dr A")
    with _raw(store) as raw, pytest.raises(sqlite3.DatabaseError, match="final"):
        raw.execute("UPDATE drafts SET draft_json = '{}' WHERE study_instance_uid = ?", (uid,))

    addendum = store.add_addendum(uid, "Addendum: findings discussed with the referrer.", "Dr A. Radiologist")
    stored = store.load_report(uid)
    assert stored.addenda == (addendum,) and stored.draft == changed
    events = [e.event_type for e in store.audit_trail(uid)]
    assert events[-4:] == ["signed_preliminary", "draft_saved", "signed_final", "addendum_added"]
    assert store.verify_audit_chain().ok


def test_addenda_only_on_final_reports(store, uid, draft):
    store.save_draft(draft, "Dr A")
    with pytest.raises(StorageError, match="is draft: edit the draft instead"):
        store.add_addendum(uid, "Too early.", "Dr A")


def _final_report(store, uid, draft):
    store.save_draft(accept_all_sentences(draft, "Dr A"), "Dr A")
    store.sign(uid, ReportStatus.FINAL, "Dr A")


def test_tampered_final_report_is_shown_compromised_and_never_repaired(store, uid, draft):
    _final_report(store, uid, draft)
    with _raw(store) as raw:
        raw.execute("DROP TRIGGER sign_offs_are_immutable_update")
        raw.execute("UPDATE sign_offs SET report_json = replace(report_json, 'grade C', 'grade B')")
    stored = store.load_report(uid)
    assert stored.compromised
    assert any(
        "does not match its stored hash: it was changed after signing" in p for p in stored.integrity_problems
    )
    with pytest.raises(ReportIntegrityError, match="compromised"):
        store.add_addendum(uid, "Addendum.", "Dr A")
    # Opening again gives the same verdict: nothing was "fixed".
    assert store.load_report(uid).integrity_problems == stored.integrity_problems


def test_tampered_addendum_is_detected(store, uid, draft):
    _final_report(store, uid, draft)
    store.add_addendum(uid, "Addendum: no change.", "Dr A")
    with _raw(store) as raw:
        raw.execute("DROP TRIGGER addenda_are_immutable_update")
        raw.execute("UPDATE addenda SET text = 'Addendum: stenosis resolved.'")
    assert any("addendum 1 by Dr A does not match" in p for p in store.load_report(uid).integrity_problems)


def test_audit_trail_is_append_only(store, uid):
    with _raw(store) as raw:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("UPDATE audit SET actor = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("DELETE FROM audit")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            "UPDATE audit SET actor = 'Dr Mallory' WHERE seq = 2",
            "audit row 2: content does not match its hash",
        ),
        ("DELETE FROM audit WHERE seq = 2", "audit row 3: expected sequence number 2"),
        (
            "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)",
            "refers to audit row 3, which is missing",
        ),
        (
            "UPDATE audit SET details_json = replace(details_json, 'Dr A', 'Dr B') WHERE seq = 3",
            "audit row 3: content does not match its hash",
        ),
    ],
)
def test_tampering_with_the_audit_trail_is_detected(store, uid, draft, tamper, expected):
    store.save_draft(draft, "Dr A")
    store.save_draft(edit_sentence(draft, L45, "Edited.", "Dr A"), "Dr A")
    assert store.verify_audit_chain().ok and store.verify_audit_chain().entries_checked == 3
    with _raw(store) as raw:
        raw.execute("DROP TRIGGER audit_is_append_only_update")
        raw.execute("DROP TRIGGER audit_is_append_only_delete")
        raw.execute(tamper)
    check = store.verify_audit_chain()
    assert not check.ok
    assert any(expected in p for p in check.problems), check.problems


def test_not_a_database_gives_a_clear_error(tmp_path):
    bad = tmp_path / "lss-desktop.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match=r"lss-desktop\.sqlite3: cannot open the database"):
        ReportStore(bad)


def test_reopening_keeps_everything(tmp_path, case, draft):
    with ReportStore.open(tmp_path) as s:
        s.open_study(case.study.study_instance_uid, "/x", "Dr A")
        s.save_draft(draft, "Dr A")
    with ReportStore.open(tmp_path) as s:
        assert s.load_report(case.study.study_instance_uid).draft == draft
        assert s.verify_audit_chain().entries_checked == 2

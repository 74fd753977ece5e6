"""The reading database: worklist, autosaved drafts, signed reports, addenda and the audit trail.

One SQLite file (WAL journal, foreign keys on, synchronous=FULL). Every change is one
`BEGIN IMMEDIATE` transaction that also appends its audit row, so a crash at any moment leaves
either the change with its audit row or neither: at most the edit in flight is lost.

Statuses move draft -> preliminary -> final. Signing records the radiologist's name and the
attestation, and stores the signed content with its sha256; every `load_report` recomputes the
hashes and reports a mismatch as an integrity problem (the report is shown as compromised, never
repaired). A final report is locked: further changes are addenda, each with its own hash and
audit row. Sign-offs and addenda rows cannot be updated or deleted (triggers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.reporting.draft_diff import diff_drafts
from engine.reporting.model import DraftFormatError, ReportDraft, draft_from_dict, draft_to_dict
from engine.reporting.sign_off import DEFAULT_ATTESTATION, Addendum, ReportStatus, SignOff
from engine.storage.audit import (
    AUDIT_SCHEMA,
    AuditEntry,
    AuditEvent,
    ChainCheck,
    append_audit_entry,
    canonical_json,
    read_audit_entries,
    utc_timestamp,
)
from engine.storage.audit import verify_audit_chain as verify_chain_rows
from engine.storage.data_dir import DATABASE_FILENAME, user_data_dir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS worklist (
    study_instance_uid TEXT PRIMARY KEY,
    folder_path TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    study_date TEXT NOT NULL DEFAULT '',
    first_opened_utc TEXT NOT NULL,
    last_opened_utc TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'draft', 'preliminary', 'final'))
);
CREATE TABLE IF NOT EXISTS drafts (
    study_instance_uid TEXT PRIMARY KEY REFERENCES worklist (study_instance_uid),
    version INTEGER NOT NULL CHECK (version >= 1),
    status TEXT NOT NULL CHECK (status IN ('draft', 'preliminary', 'final')),
    draft_json TEXT NOT NULL,
    saved_utc TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    audit_seq INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS final_draft_is_locked BEFORE UPDATE ON drafts WHEN OLD.status = 'final'
BEGIN SELECT RAISE(ABORT, 'the report is final: add an addendum instead'); END;
CREATE TABLE IF NOT EXISTS sign_offs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_instance_uid TEXT NOT NULL REFERENCES worklist (study_instance_uid),
    status TEXT NOT NULL CHECK (status IN ('preliminary', 'final')),
    draft_version INTEGER NOT NULL,
    report_json TEXT NOT NULL,
    radiologist TEXT NOT NULL,
    attestation TEXT NOT NULL,
    signed_utc TEXT NOT NULL,
    model_version TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    audit_seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_final_report_per_study ON sign_offs (study_instance_uid)
    WHERE status = 'final';
CREATE TRIGGER IF NOT EXISTS sign_offs_are_immutable_update BEFORE UPDATE ON sign_offs
BEGIN SELECT RAISE(ABORT, 'a signed report cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS sign_offs_are_immutable_delete BEFORE DELETE ON sign_offs
BEGIN SELECT RAISE(ABORT, 'a signed report cannot be deleted'); END;
CREATE TABLE IF NOT EXISTS addenda (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_instance_uid TEXT NOT NULL REFERENCES worklist (study_instance_uid),
    final_sign_off_id INTEGER NOT NULL REFERENCES sign_offs (id),
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    attestation TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    audit_seq INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS addenda_are_immutable_update BEFORE UPDATE ON addenda
BEGIN SELECT RAISE(ABORT, 'an addendum cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS addenda_are_immutable_delete BEFORE DELETE ON addenda
BEGIN SELECT RAISE(ABORT, 'an addendum cannot be deleted'); END;
"""
    + AUDIT_SCHEMA
)


class StorageError(RuntimeError):
    """The database cannot be opened or a change is not allowed; the message says why."""


class ReportLockedError(StorageError):
    """The report is final; only addenda may be added."""


class DraftConflictError(StorageError):
    """Someone saved the draft since this copy was loaded (version counter moved on)."""


class ReportIntegrityError(StorageError):
    """Stored content does not match its hash; the report is compromised and is never repaired."""


class SignOffRefused(StorageError):
    """The report cannot be signed as it stands (e.g. sentences still need review)."""


@dataclass(frozen=True)
class WorklistEntry:
    study_instance_uid: str
    folder_path: str
    description: str
    study_date: str
    first_opened_utc: str
    last_opened_utc: str
    status: str  # "new" (opened, no draft yet), or a ReportStatus value


@dataclass(frozen=True)
class StoredReport:
    """A study's report as stored, with what the integrity checks found.

    `draft` is the signed content for a final report, otherwise the latest autosaved draft; None
    when the stored JSON cannot be read (then `integrity_problems` says so).
    """

    study_instance_uid: str
    status: ReportStatus
    version: int
    draft: ReportDraft | None
    saved_utc: str
    saved_by: str
    sign_offs: tuple[SignOff, ...]
    addenda: tuple[Addendum, ...]
    integrity_problems: tuple[str, ...]

    @property
    def compromised(self) -> bool:
        return bool(self.integrity_problems)

    @property
    def final_sign_off(self) -> SignOff | None:
        return next((s for s in self.sign_offs if s.status is ReportStatus.FINAL), None)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sign_off_content_sha256(
    study_instance_uid: str,
    status: str,
    draft_version: int,
    report_json: str,
    radiologist: str,
    attestation: str,
    signed_utc: str,
) -> str:
    """sha256 of everything a signature covers."""
    return _sha256(
        canonical_json(
            [study_instance_uid, status, draft_version, report_json, radiologist, attestation, signed_utc]
        )
    )


def addendum_content_sha256(
    study_instance_uid: str,
    final_sign_off_id: int,
    text: str,
    author: str,
    attestation: str,
    created_utc: str,
) -> str:
    return _sha256(
        canonical_json([study_instance_uid, final_sign_off_id, text, author, attestation, created_utc])
    )


def _model_version(draft: ReportDraft | None) -> str:
    p = None if draft is None else draft.findings_provenance
    return "unknown" if p is None else f"{p.model_name} {p.model_version}"


def _require(value: str, what: str) -> str:
    if not value or not value.strip():
        raise StorageError(f"{what} is required")
    return value.strip()


class ReportStore:
    """The reading database at `path`. Use `ReportStore.open()` for the user's data folder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            self._conn.execute("PRAGMA busy_timeout = 10000")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA synchronous = FULL")
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path}: written by a newer LSS Desktop (schema {version}, this one reads {SCHEMA_VERSION})"
                )
            if version < SCHEMA_VERSION:
                with self._transaction():
                    for statement in _statements(SCHEMA):
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path}: cannot open the database: {exc}") from exc
        if str(mode).lower() != "wal":
            raise StorageError(f"{self.path}: the database does not support WAL journaling (got {mode})")

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str] | None = None) -> ReportStore:
        """The database in `data_dir`, $LSS_DATA_DIR, or the user's data folder."""
        return cls(user_data_dir(data_dir) / DATABASE_FILENAME)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReportStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # Worklist -----------------------------------------------------------------------------------

    def open_study(
        self,
        study_instance_uid: str,
        folder_path: str | os.PathLike[str],
        actor: str,
        description: str = "",
        study_date: str = "",
    ) -> WorklistEntry:
        """Record that a study was opened (first time: a new worklist row; later: last-opened time)."""
        uid = _require(study_instance_uid, "a study instance UID")
        actor = _require(actor, "who opened the study")
        now = utc_timestamp()
        with self._transaction() as c:
            c.execute(
                "INSERT INTO worklist (study_instance_uid, folder_path, description, study_date, "
                "first_opened_utc, last_opened_utc, status) VALUES (?, ?, ?, ?, ?, ?, 'new') "
                "ON CONFLICT (study_instance_uid) DO UPDATE SET folder_path = excluded.folder_path, "
                "last_opened_utc = excluded.last_opened_utc",
                (uid, str(folder_path), description, study_date, now, now),
            )
            append_audit_entry(
                c, actor, AuditEvent.STUDY_OPENED, uid, "n/a", {"folder_path": str(folder_path)}
            )
        return self.worklist_entry(uid)

    def worklist_entry(self, study_instance_uid: str) -> WorklistEntry:
        row = self._conn.execute(
            "SELECT study_instance_uid, folder_path, description, study_date, first_opened_utc, "
            "last_opened_utc, status FROM worklist WHERE study_instance_uid = ?",
            (study_instance_uid,),
        ).fetchone()
        if row is None:
            raise KeyError(f"study {study_instance_uid} is not on the worklist")
        return WorklistEntry(*row)

    def worklist(self) -> tuple[WorklistEntry, ...]:
        """All studies opened, the most recently opened first."""
        rows = self._conn.execute(
            "SELECT study_instance_uid, folder_path, description, study_date, first_opened_utc, "
            "last_opened_utc, status FROM worklist ORDER BY last_opened_utc DESC"
        ).fetchall()
        return tuple(WorklistEntry(*r) for r in rows)

    # Drafts -------------------------------------------------------------------------------------

    def save_draft(self, draft: ReportDraft, actor: str, expected_version: int | None = None) -> int:
        """Autosave a draft; returns its version (unchanged when nothing changed).

        `expected_version` is the version this copy was loaded at: if someone saved since, the save
        is refused (DraftConflictError) instead of overwriting their work. A final report is locked.
        """
        actor = _require(actor, "who saved the draft")
        uid = draft.study_instance_uid
        draft_json = canonical_json(draft_to_dict(draft))
        with self._transaction() as c:
            if c.execute("SELECT 1 FROM worklist WHERE study_instance_uid = ?", (uid,)).fetchone() is None:
                raise StorageError(
                    f"study {uid} is not on the worklist: open the study before saving a draft"
                )
            row = c.execute(
                "SELECT version, status, draft_json FROM drafts WHERE study_instance_uid = ?", (uid,)
            ).fetchone()
            if row is not None and row[1] == ReportStatus.FINAL.value:
                raise ReportLockedError(f"the report of study {uid} is final: add an addendum instead")
            current = 0 if row is None else int(row[0])
            if expected_version is not None and expected_version != current:
                raise DraftConflictError(
                    f"the draft of study {uid} was saved at version {current} since this copy "
                    f"(version {expected_version}) was loaded; reload it before saving"
                )
            if row is not None and row[2] == draft_json:
                return current
            old = None if row is None else _parse_draft(row[2])
            version = current + 1
            status = ReportStatus.DRAFT.value if row is None else str(row[1])
            entry = append_audit_entry(
                c,
                actor,
                AuditEvent.DRAFT_SAVED,
                uid,
                _model_version(draft),
                {
                    "version": version,
                    "status": status,
                    "draft_sha256": _sha256(draft_json),
                    "diff": diff_drafts(old, draft),
                },
            )
            c.execute(
                "INSERT INTO drafts (study_instance_uid, version, status, draft_json, saved_utc, saved_by, "
                "audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_instance_uid) DO UPDATE SET "
                "version = excluded.version, draft_json = excluded.draft_json, "
                "saved_utc = excluded.saved_utc, saved_by = excluded.saved_by, audit_seq = excluded.audit_seq",
                (uid, version, status, draft_json, entry.occurred_utc, actor, entry.seq),
            )
            if row is None:
                c.execute("UPDATE worklist SET status = 'draft' WHERE study_instance_uid = ?", (uid,))
        return version

    # Sign-off -----------------------------------------------------------------------------------

    def sign(
        self,
        study_instance_uid: str,
        status: ReportStatus,
        radiologist: str,
        attestation: str = DEFAULT_ATTESTATION,
    ) -> SignOff:
        """Sign the saved draft as preliminary or final, recording the name and the attestation.

        Refused when a sentence still needs review (AI-drafted and not accepted, or flagged stale),
        when the status would move backwards, or when the stored report fails its integrity check.
        """
        radiologist = _require(radiologist, "the signing radiologist's name")
        attestation = _require(attestation, "the attestation text")
        if status is ReportStatus.DRAFT:
            raise StorageError("a report is signed as preliminary or final, not as draft")
        uid = study_instance_uid
        stored = self.load_report(uid)
        if stored.compromised:
            raise ReportIntegrityError(
                f"the report of study {uid} is compromised and cannot be signed: {'; '.join(stored.integrity_problems)}"
            )
        if not stored.status.can_become(status) and not (
            stored.status is ReportStatus.PRELIMINARY and status is ReportStatus.PRELIMINARY
        ):
            raise SignOffRefused(
                f"the report of study {uid} is {stored.status.value}; it cannot become {status.value}"
            )
        assert stored.draft is not None  # a readable draft is part of the integrity check
        pending = stored.draft.needs_review
        if pending:
            raise SignOffRefused(
                f"{len(pending)} sentence(s) still need review before signing: "
                + ", ".join(s.sentence_id for s in pending)
            )
        with self._transaction() as c:
            row = c.execute(
                "SELECT version, draft_json FROM drafts WHERE study_instance_uid = ?", (uid,)
            ).fetchone()
            if row is None or int(row[0]) != stored.version:
                raise DraftConflictError(f"the draft of study {uid} changed while signing; review it again")
            version, report_json = int(row[0]), str(row[1])
            signed_utc = utc_timestamp()
            content_sha = sign_off_content_sha256(
                uid, status.value, version, report_json, radiologist, attestation, signed_utc
            )
            event = AuditEvent.SIGNED_FINAL if status is ReportStatus.FINAL else AuditEvent.SIGNED_PRELIMINARY
            entry = append_audit_entry(
                c,
                radiologist,
                event,
                uid,
                _model_version(stored.draft),
                {
                    "version": version,
                    "status": status.value,
                    "draft_sha256": _sha256(report_json),
                    "content_sha256": content_sha,
                    "attestation": attestation,
                },
            )
            c.execute(
                "INSERT INTO sign_offs (study_instance_uid, status, draft_version, report_json, radiologist, "
                "attestation, signed_utc, model_version, content_sha256, audit_seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uid,
                    status.value,
                    version,
                    report_json,
                    radiologist,
                    attestation,
                    signed_utc,
                    _model_version(stored.draft),
                    content_sha,
                    entry.seq,
                ),
            )
            c.execute(
                "UPDATE drafts SET status = ?, audit_seq = ? WHERE study_instance_uid = ?",
                (status.value, entry.seq, uid),
            )
            c.execute("UPDATE worklist SET status = ? WHERE study_instance_uid = ?", (status.value, uid))
        return SignOff(status, radiologist, attestation, signed_utc, content_sha)

    def add_addendum(
        self, study_instance_uid: str, text: str, author: str, attestation: str = DEFAULT_ATTESTATION
    ) -> Addendum:
        """Add text to a final report (the signed content never changes)."""
        text = _require(text, "the addendum text")
        author = _require(author, "the addendum's author")
        attestation = _require(attestation, "the attestation text")
        uid = study_instance_uid
        stored = self.load_report(uid)
        if stored.status is not ReportStatus.FINAL:
            raise StorageError(f"the report of study {uid} is {stored.status.value}: edit the draft instead")
        if stored.compromised:
            raise ReportIntegrityError(
                f"the report of study {uid} is compromised: {'; '.join(stored.integrity_problems)}"
            )
        with self._transaction() as c:
            final_id = int(
                c.execute(
                    "SELECT id FROM sign_offs WHERE study_instance_uid = ? AND status = 'final'", (uid,)
                ).fetchone()[0]
            )
            created = utc_timestamp()
            content_sha = addendum_content_sha256(uid, final_id, text, author, attestation, created)
            entry = append_audit_entry(
                c,
                author,
                AuditEvent.ADDENDUM_ADDED,
                uid,
                _model_version(stored.draft),
                {"final_sign_off_id": final_id, "text": text, "content_sha256": content_sha},
            )
            cursor = c.execute(
                "INSERT INTO addenda (study_instance_uid, final_sign_off_id, text, author, attestation, "
                "created_utc, content_sha256, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, final_id, text, author, attestation, created, content_sha, entry.seq),
            )
            addendum_id = int(cursor.lastrowid or 0)
        return Addendum(addendum_id, text, author, attestation, created, content_sha)

    def record_export(
        self, study_instance_uid: str, actor: str, kind: str, details: dict[str, Any]
    ) -> AuditEntry:
        """Audit an export of the report (e.g. kind "pdf" with the file's sha256)."""
        stored = self.load_report(study_instance_uid)
        with self._transaction() as c:
            return append_audit_entry(
                c,
                _require(actor, "who exported the report"),
                AuditEvent.REPORT_EXPORTED,
                study_instance_uid,
                _model_version(stored.draft),
                {"kind": kind, "status": stored.status.value, **details},
            )

    # Reading and checks -------------------------------------------------------------------------

    def load_report(self, study_instance_uid: str) -> StoredReport:
        """The study's report with every stored hash verified. Problems are reported in
        `integrity_problems` (and logged without patient data); nothing is repaired."""
        uid = study_instance_uid
        row = self._conn.execute(
            "SELECT version, status, draft_json, saved_utc, saved_by FROM drafts WHERE study_instance_uid = ?",
            (uid,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no report is stored for study {uid}")
        version, status, draft_json, saved_utc, saved_by = (
            int(row[0]),
            ReportStatus(row[1]),
            row[2],
            row[3],
            row[4],
        )
        problems: list[str] = []
        sign_offs: list[SignOff] = []
        final_json: str | None = None
        for s in self._conn.execute(
            "SELECT status, draft_version, report_json, radiologist, attestation, signed_utc, content_sha256 "
            "FROM sign_offs WHERE study_instance_uid = ? ORDER BY id",
            (uid,),
        ).fetchall():
            s_status, s_version, s_json, s_name, s_attest, s_time, s_sha = s
            if sign_off_content_sha256(uid, s_status, s_version, s_json, s_name, s_attest, s_time) != s_sha:
                problems.append(
                    f"the {s_status} report signed by {s_name} at {s_time} does not match its stored hash: "
                    "it was changed after signing"
                )
            sign_offs.append(SignOff(ReportStatus(s_status), s_name, s_attest, s_time, s_sha))
            if s_status == ReportStatus.FINAL.value:
                final_json = s_json
        if status is ReportStatus.FINAL and final_json is None:
            problems.append("the report is marked final but its signed content is missing")
        if status is ReportStatus.FINAL and final_json is not None and final_json != draft_json:
            problems.append("the stored draft differs from the signed final report")
        addenda: list[Addendum] = []
        for a in self._conn.execute(
            "SELECT id, final_sign_off_id, text, author, attestation, created_utc, content_sha256 "
            "FROM addenda WHERE study_instance_uid = ? ORDER BY id",
            (uid,),
        ).fetchall():
            a_id, final_id, text, author, attest, created, sha = a
            if addendum_content_sha256(uid, final_id, text, author, attest, created) != sha:
                problems.append(f"addendum {a_id} by {author} does not match its stored hash: it was changed")
            addenda.append(Addendum(int(a_id), text, author, attest, created, sha))
        shown_json = final_json if final_json is not None else draft_json
        draft = None
        try:
            draft = _parse_draft(shown_json)
        except StorageError as exc:
            problems.append(str(exc))
        if problems:
            log.error(
                "report integrity check failed with %d problem(s); the report is shown as compromised",
                len(problems),
            )
        return StoredReport(
            study_instance_uid=uid,
            status=status,
            version=version,
            draft=draft,
            saved_utc=saved_utc,
            saved_by=saved_by,
            sign_offs=tuple(sign_offs),
            addenda=tuple(addenda),
            integrity_problems=tuple(problems),
        )

    def audit_trail(self, study_instance_uid: str | None = None) -> tuple[AuditEntry, ...]:
        return read_audit_entries(self._conn, study_instance_uid)

    def verify_audit_chain(self) -> ChainCheck:
        """The hash chain, plus its anchors: every draft, sign-off and addendum row must point at an
        audit row that records its content hash (this also catches rows cut off the chain's end)."""
        chain = verify_chain_rows(self._conn)
        problems = list(chain.problems)
        audit = {
            int(r[0]): (r[1], r[2], json.loads(r[3]))
            for r in self._conn.execute("SELECT seq, event_type, study_instance_uid, details_json FROM audit")
        }
        for uid, version, status, draft_json, seq in self._conn.execute(
            "SELECT study_instance_uid, version, status, draft_json, audit_seq FROM drafts"
        ):
            entry = audit.get(int(seq))
            if entry is None or entry[1] != uid:
                problems.append(f"the draft of study {uid} refers to audit row {seq}, which is missing")
                continue
            details = entry[2]
            if (details.get("version"), details.get("status"), details.get("draft_sha256")) != (
                version,
                status,
                _sha256(draft_json),
            ):
                problems.append(f"the draft of study {uid} does not match audit row {seq}")
        for table in ("sign_offs", "addenda"):
            for uid, sha, seq in self._conn.execute(
                f"SELECT study_instance_uid, content_sha256, audit_seq FROM {table}"
            ):
                entry = audit.get(int(seq))
                if entry is None or entry[1] != uid or entry[2].get("content_sha256") != sha:
                    problems.append(
                        f"a {table.replace('_', '-')} row of study {uid} has no matching audit row {seq}"
                    )
        return ChainCheck(ok=not problems, entries_checked=chain.entries_checked, problems=tuple(problems))

    def integrity_check(self) -> str:
        """SQLite's own page-level check: "ok" when the file is sound."""
        return "; ".join(str(r[0]) for r in self._conn.execute("PRAGMA integrity_check").fetchall())


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (triggers keep their inner semicolons)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


def _parse_draft(text: str) -> ReportDraft:
    try:
        return draft_from_dict(json.loads(text))
    except (json.JSONDecodeError, DraftFormatError) as exc:
        raise StorageError(f"the stored draft cannot be read: {exc}") from exc

"""The append-only audit trail: who changed what, when, with which model; each row hash-chained.

Every row stores the sha256 of the previous row (`prev_hash`) and its own `row_hash` over its
sequence number, time, actor, event, study, model version, details and `prev_hash`. Changing,
deleting or reordering a row breaks the chain at that row, which `verify_audit_chain` reports.
SQLite triggers refuse UPDATE and DELETE on the table, so the application itself cannot rewrite
history; the chain catches anyone who edits the file by other means.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    occurred_utc TEXT NOT NULL,
    actor TEXT NOT NULL,
    event_type TEXT NOT NULL,
    study_instance_uid TEXT,
    model_version TEXT NOT NULL,
    details_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL UNIQUE
);
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class AuditEvent(StrEnum):
    STUDY_OPENED = "study_opened"
    DRAFT_SAVED = "draft_saved"
    SIGNED_PRELIMINARY = "signed_preliminary"
    SIGNED_FINAL = "signed_final"
    ADDENDUM_ADDED = "addendum_added"
    REPORT_EXPORTED = "report_exported"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    occurred_utc: str  # ISO 8601 UTC, milliseconds, "Z"
    actor: str
    event_type: str
    study_instance_uid: str | None
    model_version: str
    details: dict[str, Any]  # the change, e.g. a draft diff (see reporting.draft_diff)
    prev_hash: str
    row_hash: str


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries_checked: int
    problems: tuple[str, ...]  # one line per broken link or bad row, naming its sequence number


def utc_timestamp() -> str:
    """Now, e.g. "2026-11-28T09:14:03.512Z"."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same bytes."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def audit_row_hash(
    prev_hash: str,
    seq: int,
    occurred_utc: str,
    actor: str,
    event_type: str,
    study_instance_uid: str | None,
    model_version: str,
    details_json: str,
) -> str:
    payload = canonical_json(
        [prev_hash, seq, occurred_utc, actor, event_type, study_instance_uid, model_version, details_json]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append_audit_entry(
    conn: sqlite3.Connection,
    actor: str,
    event_type: AuditEvent,
    study_instance_uid: str | None,
    model_version: str,
    details: dict[str, Any],
) -> AuditEntry:
    """Append one row. Call inside a write transaction (BEGIN IMMEDIATE), so no other writer can
    slip a row in between reading the chain's head and appending to it."""
    if not conn.in_transaction:
        raise RuntimeError("audit entries are appended inside the transaction of the change they record")
    head = conn.execute("SELECT seq, row_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (1, GENESIS_HASH) if head is None else (int(head[0]) + 1, str(head[1]))
    occurred = utc_timestamp()
    details_json = canonical_json(details)
    row_hash = audit_row_hash(
        prev_hash, seq, occurred, actor, event_type.value, study_instance_uid, model_version, details_json
    )
    conn.execute(
        "INSERT INTO audit (seq, occurred_utc, actor, event_type, study_instance_uid, model_version, "
        "details_json, prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            seq,
            occurred,
            actor,
            event_type.value,
            study_instance_uid,
            model_version,
            details_json,
            prev_hash,
            row_hash,
        ),
    )
    return AuditEntry(
        seq,
        occurred,
        actor,
        event_type.value,
        study_instance_uid,
        model_version,
        details,
        prev_hash,
        row_hash,
    )


def read_audit_entries(
    conn: sqlite3.Connection, study_instance_uid: str | None = None
) -> tuple[AuditEntry, ...]:
    """The trail in order, all of it or one study's."""
    query = (
        "SELECT seq, occurred_utc, actor, event_type, study_instance_uid, model_version, details_json, "
        "prev_hash, row_hash FROM audit"
    )
    rows = (
        conn.execute(query + " ORDER BY seq")
        if study_instance_uid is None
        else conn.execute(query + " WHERE study_instance_uid = ? ORDER BY seq", (study_instance_uid,))
    )
    return tuple(
        AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8])
        for r in rows.fetchall()
    )


def verify_audit_chain(conn: sqlite3.Connection) -> ChainCheck:
    """Walk the whole trail: sequence numbers 1..n without gaps, each row's prev_hash equal to the
    previous row's hash, and each row's hash recomputed from its content."""
    problems: list[str] = []
    expected_prev = GENESIS_HASH
    count = 0
    rows = conn.execute(
        "SELECT seq, occurred_utc, actor, event_type, study_instance_uid, model_version, details_json, "
        "prev_hash, row_hash FROM audit ORDER BY seq"
    )
    for count, row in enumerate(rows, start=1):
        seq, occurred, actor, event, study, model, details_json, prev_hash, stored_hash = row
        if seq != count:
            problems.append(
                f"audit row {seq}: expected sequence number {count} (a row is missing or was inserted)"
            )
        if prev_hash != expected_prev:
            problems.append(
                f"audit row {seq}: does not link to the row before it (a row was changed or removed)"
            )
        recomputed = audit_row_hash(prev_hash, seq, occurred, actor, event, study, model, details_json)
        if recomputed != stored_hash:
            problems.append(f"audit row {seq}: content does not match its hash (the row was changed)")
        expected_prev = stored_hash
    return ChainCheck(ok=not problems, entries_checked=count, problems=tuple(problems))

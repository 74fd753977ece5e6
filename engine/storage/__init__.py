"""Local, embedded storage of reading work: worklist, autosaved drafts, signed reports, audit trail.

- `report_store.ReportStore`: the SQLite database (WAL, foreign keys, one transaction per change).
- `audit`: the append-only, hash-chained audit trail and `verify_audit_chain`.
- `data_dir`: where the database lives (argument, $LSS_DATA_DIR, or the user's data folder).

Files (exports, findings) are written with `engine.atomic_file` (temp + fsync + rename).
"""

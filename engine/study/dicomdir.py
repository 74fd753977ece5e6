"""DICOMDIR (media index, PS3.10): the files a DICOMDIR references.

A CD/DVD or USB export carries a DICOMDIR beside viewer programs and autorun files; reading only
the files it references keeps those out of the load report. Names on ISO 9660 media are often
matched case-insensitively, so each path component is matched ignoring case when the exact name
is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pydicom

from engine.study.model import IssueSeverity, LoadIssue


@dataclass(frozen=True)
class DicomdirContents:
    files: tuple[Path, ...]  # referenced files that exist, in DICOMDIR order
    issues: tuple[LoadIssue, ...]  # unreadable DICOMDIR or referenced files that are missing


def is_dicomdir_name(name: str) -> bool:
    return name.upper() == "DICOMDIR"


def read_dicomdir(path: Path) -> DicomdirContents:
    """Files referenced by the DICOMDIR at `path` (its records' ReferencedFileID)."""
    try:
        ds = pydicom.dcmread(path, force=True)
        records = list(ds.get("DirectoryRecordSequence") or [])
    except Exception as exc:  # a broken index must not stop the load: the caller walks the folder
        return DicomdirContents(
            (),
            (
                LoadIssue(
                    str(path),
                    f"unreadable DICOMDIR ({exc}); the folder is searched instead",
                    IssueSeverity.WARNING,
                ),
            ),
        )
    root = path.parent
    listings: dict[Path, dict[str, str]] = {}
    files: list[Path] = []
    seen: set[Path] = set()
    issues: list[LoadIssue] = []
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(p) for p in file_id]
        resolved = _resolve_ignoring_case(root, parts, listings)
        if resolved is None:
            missing = root.joinpath(*parts)
            issues.append(LoadIssue(str(missing), "listed in DICOMDIR but missing", IssueSeverity.SKIPPED))
        elif resolved not in seen:
            seen.add(resolved)
            files.append(resolved)
    return DicomdirContents(tuple(files), tuple(issues))


def _resolve_ignoring_case(root: Path, parts: list[str], listings: dict[Path, dict[str, str]]) -> Path | None:
    current = root
    for part in parts:
        exact = current / part
        if exact.exists():
            current = exact
            continue
        if current not in listings:
            try:
                listings[current] = {name.upper(): name for name in os.listdir(current)}
            except OSError:
                return None
        name = listings[current].get(part.upper())
        if name is None:
            return None
        current = current / name
    return current if current.is_file() else None

"""Which files of a folder to read: a recursive walk, or the files a DICOMDIR references.

Rules: every regular file counts, with or without a `.dcm` suffix, in nested folders. A folder
holding a DICOMDIR is read through it (its subtree is not walked; files it does not reference are
ignored, as on standard media). Names starting with "." (".DS_Store", AppleDouble "._x" files)
are skipped silently. Symbolic links to folders are not followed (no loops).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.study.dicomdir import is_dicomdir_name, read_dicomdir
from engine.study.model import IssueSeverity, LoadIssue


@dataclass(frozen=True)
class CandidateFiles:
    files: tuple[Path, ...]  # in a stable order (sorted walk, DICOMDIR order)
    issues: tuple[LoadIssue, ...]


def find_candidate_files(path: Path) -> CandidateFiles:
    """Files under `path` (or `path` itself) that may be DICOM."""
    if path.is_file():
        if is_dicomdir_name(path.name):
            contents = read_dicomdir(path)
            return CandidateFiles(contents.files, contents.issues)
        return CandidateFiles((path,), ())
    files: list[Path] = []
    issues: list[LoadIssue] = []
    seen: set[Path] = set()
    for folder, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        names = sorted(n for n in filenames if not n.startswith("."))
        dicomdir = next((n for n in names if is_dicomdir_name(n)), None)
        if dicomdir is not None:
            contents = read_dicomdir(Path(folder) / dicomdir)
            issues.extend(contents.issues)
            if not contents.files:
                if not contents.issues:
                    issues.append(
                        LoadIssue(
                            str(Path(folder) / dicomdir),
                            "DICOMDIR references no readable file; the folder is searched instead",
                            IssueSeverity.WARNING,
                        )
                    )
            else:
                dirnames[:] = []
                for f in contents.files:
                    if f not in seen:
                        seen.add(f)
                        files.append(f)
                continue
        for name in names:
            candidate = Path(folder) / name
            if name != dicomdir and candidate not in seen and candidate.is_file():
                seen.add(candidate)
                files.append(candidate)
    return CandidateFiles(tuple(files), tuple(issues))

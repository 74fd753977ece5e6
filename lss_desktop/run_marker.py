"""Knowing whether the app exited cleanly: each running app keeps a small marker file in the data
folder (its process id, when it started, the study open), removed on a clean exit. A marker whose
process no longer runs was left by a crash, so the next start offers to restore that study's draft.
Qt-free.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from engine.atomic_file import write_text_atomically
from engine.storage.audit import utc_timestamp

logger = logging.getLogger(__name__)

_PREFIX = "running-"


@dataclass(frozen=True)
class RunRecord:
    """What a running app noted about itself: process id, start time (ISO 8601 UTC) and the study
    it had open (StudyInstanceUID and folder; empty when none)."""

    pid: int
    started_utc: str
    study_instance_uid: str = ""
    folder: str = ""


def process_is_alive(pid: int) -> bool:
    """True when a process with this id runs (or may run: when in doubt, a crash is not assumed)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunMarker:
    """This process's marker in `data_dir`."""

    def __init__(self, data_dir: Path, pid: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.record = RunRecord(pid=os.getpid() if pid is None else pid, started_utc=utc_timestamp())
        self.path = self.data_dir / f"{_PREFIX}{self.record.pid}.json"

    def claim(self) -> None:
        self._write()

    def note_study(self, study_instance_uid: str, folder: str) -> None:
        """Record the study now open (a crash then offers its draft)."""
        self.record = replace(self.record, study_instance_uid=study_instance_uid, folder=folder)
        self._write()

    def _write(self) -> None:
        try:
            write_text_atomically(self.path, json.dumps(asdict(self.record)) + "\n")
        except OSError as exc:  # crash detection is a convenience: the app goes on without it
            logger.warning("cannot write the run marker %s: %s", self.path, exc)

    def release(self) -> None:
        """A clean exit: the marker goes."""
        self.path.unlink(missing_ok=True)


def unclean_exits(data_dir: Path, own_pid: int | None = None) -> list[RunRecord]:
    """Markers left by processes that no longer run, the most recently started first."""
    own = os.getpid() if own_pid is None else own_pid
    found: list[RunRecord] = []
    for path in Path(data_dir).glob(f"{_PREFIX}*.json"):
        try:
            record = RunRecord(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("unreadable run marker %s (%s); removed", path.name, exc)
            path.unlink(missing_ok=True)
            continue
        if record.pid != own and not process_is_alive(record.pid):
            found.append(record)
    return sorted(found, key=lambda r: r.started_utc, reverse=True)


def forget_unclean_exits(data_dir: Path, records: list[RunRecord]) -> None:
    """Remove the markers of crashed runs once the user was asked about them."""
    for record in records:
        (Path(data_dir) / f"{_PREFIX}{record.pid}.json").unlink(missing_ok=True)

"""The worklist of recently opened studies.

`RecentStudies` is the interface the window uses. `StoreRecentStudies` is the reading database's
worklist (engine.storage: study UID, folder, description, date, report status), the one the app
uses; `SettingsRecentStudies` (QSettings) and `MemoryRecentStudies` serve tests and the screenshot
mode. No patient names or IDs are stored here: the worklist shows the study description, date,
report status and folder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QSettings

from engine.storage.report_store import ReportStore
from engine.study.model import Study

logger = logging.getLogger(__name__)

_SETTINGS_KEY = "worklist/recent_studies_v1"


@dataclass(frozen=True)
class RecentStudy:
    folder: str  # absolute path of the study folder
    description: str
    study_date: str  # DICOM DA (YYYYMMDD) or ""
    series_count: int | None  # None when the list does not keep it (the database's worklist)
    opened_at: str  # ISO 8601, local time
    study_instance_uid: str = ""
    status: str = ""  # report status from the database: new, draft, preliminary, final ("" unknown)

    @classmethod
    def from_study(cls, study: Study, folder: Path, opened_at: datetime | None = None) -> RecentStudy:
        return cls(
            folder=str(Path(folder).resolve()),
            description=study.description,
            study_date=study.study_date,
            series_count=len(study.series),
            opened_at=(opened_at or datetime.now()).isoformat(timespec="seconds"),
            study_instance_uid=study.study_instance_uid,
        )


class RecentStudies(Protocol):
    def entries(self) -> list[RecentStudy]:
        """Most recently opened first."""
        ...

    def remember(self, entry: RecentStudy) -> None:
        """Put `entry` first, replacing an older entry for the same study."""
        ...


class MemoryRecentStudies:
    """RecentStudies that forget on exit (a window given none, tests, the screenshot mode)."""

    def __init__(self) -> None:
        self._entries: list[RecentStudy] = []

    def entries(self) -> list[RecentStudy]:
        return list(self._entries)

    def remember(self, entry: RecentStudy) -> None:
        self._entries = [entry, *[e for e in self._entries if e.folder != entry.folder]]

    def forget(self, folder: str) -> None:
        self._entries = [e for e in self._entries if e.folder != folder]


class SettingsRecentStudies:
    """RecentStudies kept as JSON in a QSettings store, at most `limit` entries."""

    def __init__(self, settings: QSettings, limit: int = 15) -> None:
        self._settings = settings
        self._limit = limit

    def entries(self) -> list[RecentStudy]:
        raw = self._settings.value(_SETTINGS_KEY, "[]")
        try:
            items = json.loads(str(raw))
            return [RecentStudy(**item) for item in items]
        except (TypeError, ValueError) as exc:
            # A damaged list must not stop the app; it is rebuilt as studies are opened.
            logger.warning(
                "recent studies list in %s is unreadable (%s); starting afresh",
                self._settings.fileName(),
                exc,
            )
            return []

    def remember(self, entry: RecentStudy) -> None:
        kept = [e for e in self.entries() if e.folder != entry.folder]
        self._store([entry, *kept][: self._limit])

    def forget(self, folder: str) -> None:
        self._store([e for e in self.entries() if e.folder != folder])

    def _store(self, entries: list[RecentStudy]) -> None:
        self._settings.setValue(_SETTINGS_KEY, json.dumps([asdict(e) for e in entries]))
        self._settings.sync()


def _local_time(utc_iso: str) -> str:
    """ "2026-11-28T09:14:03.512Z" -> the same instant in local time, ISO 8601 to the second."""
    try:
        moment = datetime.fromisoformat(utc_iso.replace("Z", "+00:00"))
    except ValueError:
        return utc_iso
    return moment.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")


class StoreRecentStudies:
    """The reading database's worklist (`ReportStore.worklist`), most recently opened first.

    `actor` names who opens a study, for the audit trail."""

    def __init__(self, store: ReportStore, actor: Callable[[], str], limit: int = 200) -> None:
        self._store = store
        self._actor = actor
        self._limit = limit

    def entries(self) -> list[RecentStudy]:
        return [
            RecentStudy(
                folder=e.folder_path,
                description=e.description,
                study_date=e.study_date,
                series_count=None,
                opened_at=_local_time(e.last_opened_utc),
                study_instance_uid=e.study_instance_uid,
                status=e.status,
            )
            for e in self._store.worklist()[: self._limit]
        ]

    def remember(self, entry: RecentStudy) -> None:
        if not entry.study_instance_uid:
            raise ValueError(
                f"the study in {entry.folder} has no StudyInstanceUID: it cannot be on the worklist"
            )
        self._store.open_study(
            entry.study_instance_uid, entry.folder, self._actor(), entry.description, entry.study_date
        )

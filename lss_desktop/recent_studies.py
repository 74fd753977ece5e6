"""The worklist of recently opened studies.

`RecentStudies` is the interface the window uses; `SettingsRecentStudies` keeps the list in
QSettings until the study database takes over behind the same interface. No patient names or
IDs are stored here: the worklist shows the study description, date and folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QSettings

from engine.study.model import Study

logger = logging.getLogger(__name__)

_SETTINGS_KEY = "worklist/recent_studies_v1"


@dataclass(frozen=True)
class RecentStudy:
    folder: str  # absolute path of the study folder
    description: str
    study_date: str  # DICOM DA (YYYYMMDD) or ""
    series_count: int
    opened_at: str  # ISO 8601, local time

    @classmethod
    def from_study(cls, study: Study, folder: Path, opened_at: datetime | None = None) -> RecentStudy:
        return cls(
            folder=str(Path(folder).resolve()),
            description=study.description,
            study_date=study.study_date,
            series_count=len(study.series),
            opened_at=(opened_at or datetime.now()).isoformat(timespec="seconds"),
        )


class RecentStudies(Protocol):
    def entries(self) -> list[RecentStudy]:
        """Most recently opened first."""
        ...

    def remember(self, entry: RecentStudy) -> None:
        """Put `entry` first, replacing an older entry for the same folder."""
        ...

    def forget(self, folder: str) -> None: ...


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

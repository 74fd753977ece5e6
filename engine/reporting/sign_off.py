"""Report statuses and signatures: draft -> preliminary -> final, then only addenda."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_ATTESTATION = (
    "I have reviewed the images and the software-drafted text of this report, "
    "and I take responsibility for its content."
)


class ReportStatus(StrEnum):
    DRAFT = "draft"  # being written; not issued
    PRELIMINARY = "preliminary"  # issued as preliminary; may still change
    FINAL = "final"  # signed and locked; changes only as addenda

    def can_become(self, new: ReportStatus) -> bool:
        """Statuses only move forward: draft -> preliminary -> final (draft -> final allowed)."""
        order = (ReportStatus.DRAFT, ReportStatus.PRELIMINARY, ReportStatus.FINAL)
        return order.index(new) > order.index(self)


@dataclass(frozen=True)
class SignOff:
    """A radiologist's signature on a report at a status (preliminary or final)."""

    status: ReportStatus
    radiologist: str
    attestation: str
    signed_utc: str  # ISO 8601, UTC, e.g. "2026-11-28T09:14:03.512Z"
    content_sha256: str  # of the signed content (see storage), verified on every open


@dataclass(frozen=True)
class Addendum:
    """Text added to a final report; it never changes the signed content."""

    addendum_id: int
    text: str
    author: str
    attestation: str
    created_utc: str
    content_sha256: str

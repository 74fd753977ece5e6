"""Who signed a report, as the DICOM exports record it (SR verification, observer, PDF flag)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReportSigner:
    """The radiologist who signed the report.

    name: as recorded at signing; DICOM PN form "Family^Given" is kept as is, free text is stored
        as the family name component (see dicom_name).
    organisation: the verifying organisation (DICOM requires one for a verified SR).
    signed_at: when the report was signed (timezone-aware or local time).
    """

    name: str
    organisation: str
    signed_at: datetime

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("ReportSigner.name is empty")
        if not self.organisation.strip():
            raise ValueError("ReportSigner.organisation is empty")

    @property
    def dicom_name(self) -> str:
        """The name as a DICOM PN value: "Family^Given" forms as given; free text ("Dr Ada
        Lovelace") whole as the family name with a trailing "^", which marks it as one component
        on purpose instead of guessing which word is the family name."""
        name = self.name.strip()
        return name if "^" in name else f"{name}^"

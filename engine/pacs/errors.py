"""Exceptions of PACS operations, one per situation the GUI and the CLI handle differently.

All derive from PacsError; messages name the node (AE title@host:port), never a patient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.pacs.retrieve import RetrieveReport
    from engine.pacs.store import StoreReport


class PacsError(Exception):
    """A PACS operation failed."""


class NodeSettingsError(PacsError):
    """The node settings (or the file holding them) are invalid; the message names the field."""


class PacsUnreachableError(PacsError):
    """No TCP connection to the node: host unknown, connection refused or timed out."""


class AssociationRejectedError(PacsError):
    """The node refused the association (e.g. unknown calling or called AE title)."""

    def __init__(self, message: str, *, result: str, source: str, reason: str) -> None:
        super().__init__(message)
        self.result = result  # "Rejected Permanent" or "Rejected Transient"
        self.source = source  # who rejected: service user, ACSE provider, presentation provider
        self.reason = reason  # e.g. "Called AE title not recognised"


class AssociationAbortedError(PacsError):
    """The association was aborted, or the node stopped answering within the timeout."""


class ServiceNotSupportedError(PacsError):
    """The node accepted the association but not the service or SOP class asked for."""


class OperationFailedError(PacsError):
    """The node answered a request with a failure status.

    status: the DIMSE status code (e.g. 0xA700); meaning: its meaning from PS3.4/PS3.7.
    """

    def __init__(self, message: str, *, status: int | None, meaning: str) -> None:
        super().__init__(message)
        self.status = status
        self.meaning = meaning


class OperationCancelledError(PacsError):
    """The operation was cancelled by the caller; `partial` holds what was done before."""

    def __init__(self, message: str, partial: object = None) -> None:
        super().__init__(message)
        self.partial = partial


class InstancesNotStoredError(PacsError):
    """Some instances were not stored (refused with a status, unreadable file, lost association).

    report: the StoreReport with the outcome of every file, stored ones included.
    """

    def __init__(self, message: str, report: StoreReport) -> None:
        super().__init__(message)
        self.report = report


class RetrieveIncompleteError(PacsError):
    """A retrieve ended with failed sub-operations or a failure status; `report` says what arrived."""

    def __init__(self, message: str, report: RetrieveReport) -> None:
        super().__init__(message)
        self.report = report

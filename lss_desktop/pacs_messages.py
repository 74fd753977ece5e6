"""What to tell the user when talking to the PACS failed: a title and a message per kind of failure
(engine.pacs.errors), saying what happened and what to check. Qt-free."""

from __future__ import annotations

from engine.pacs.errors import (
    AssociationAbortedError,
    AssociationRejectedError,
    InstancesNotStoredError,
    NodeSettingsError,
    OperationCancelledError,
    OperationFailedError,
    PacsError,
    PacsUnreachableError,
    ServiceNotSupportedError,
)


def describe_pacs_error(error: BaseException) -> tuple[str, str]:
    """(title, message) for a failed PACS operation; the message never names a patient."""
    detail = str(error)
    if isinstance(error, NodeSettingsError):
        return (
            "PACS settings",
            f"The PACS node settings are not valid:\n{detail}\n\nCorrect them in Settings.",
        )
    if isinstance(error, PacsUnreachableError):
        return (
            "PACS not reachable",
            f"The PACS could not be reached:\n{detail}\n\n"
            "Check the host name and port in Settings, and that the PACS is running and the network is up.",
        )
    if isinstance(error, AssociationRejectedError):
        return (
            "PACS refused the connection",
            f"The PACS refused the connection ({error.reason}):\n{detail}\n\n"
            "Check both AE titles in Settings, and that the PACS knows this workstation.",
        )
    if isinstance(error, ServiceNotSupportedError):
        return "PACS does not accept this", f"The PACS does not support what was sent:\n{detail}"
    if isinstance(error, AssociationAbortedError):
        return (
            "PACS stopped answering",
            f"The connection to the PACS was lost or timed out:\n{detail}\n\nTry again; raise the timeout in "
            "Settings if the PACS is slow.",
        )
    if isinstance(error, InstancesNotStoredError):
        failed = error.report.failed
        lines = "\n".join(f"• {o.path.name}: {o.meaning}" for o in failed[:8])
        more = f"\n… and {len(failed) - 8} more" if len(failed) > 8 else ""
        return (
            "Not everything was stored",
            f"{len(error.report.stored)} object(s) were stored, {len(failed)} were not:\n{lines}{more}",
        )
    if isinstance(error, OperationCancelledError):
        return "Sending cancelled", detail
    if isinstance(error, OperationFailedError):
        return "PACS reported a failure", f"{detail}\n({error.meaning})"
    if isinstance(error, PacsError):
        return "PACS error", detail
    return "Sending failed", f"{type(error).__name__}: {detail}"

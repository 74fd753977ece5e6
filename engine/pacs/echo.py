"""C-ECHO: checks that a node answers DICOM (verification)."""

from __future__ import annotations

import time

from pynetdicom import build_context
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from engine.pacs.association import open_association, require_context
from engine.pacs.errors import AssociationAbortedError, OperationFailedError
from engine.pacs.node import PacsNode


def echo(node: PacsNode) -> float:
    """Send a C-ECHO to `node`; returns the round-trip time of the echo in milliseconds.

    Raises a PacsError subclass when the node cannot be reached, refuses or answers a failure.
    """
    with open_association(node, [build_context(Verification)]) as association:
        require_context(node, association, Verification, "verification (C-ECHO)")
        start = time.perf_counter()
        status = association.send_c_echo()
        elapsed_ms = (time.perf_counter() - start) * 1000.0
    if "Status" not in status:
        raise AssociationAbortedError(f"{node} did not answer the C-ECHO within {node.timeout_s:g} s")
    if status.Status != 0x0000:
        raise OperationFailedError(
            f"{node} answered the C-ECHO with status 0x{status.Status:04X}",
            status=int(status.Status),
            meaning="verification failed",
        )
    return elapsed_ms

"""Opening an association with a PacsNode and turning pynetdicom outcomes into PacsError types."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydicom.uid import UID
from pynetdicom import AE, Association, _config, evt
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from engine.pacs.errors import (
    AssociationAbortedError,
    AssociationRejectedError,
    PacsUnreachableError,
    ServiceNotSupportedError,
)
from engine.pacs.node import PacsNode

logger = logging.getLogger(__name__)

# pynetdicom logs C-FIND/C-GET identifiers (patient names and IDs) at INFO level by default.
_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False


@contextmanager
def open_association(
    node: PacsNode,
    contexts: Sequence[PresentationContext],
    *,
    roles: Sequence[SCP_SCU_RoleSelectionNegotiation] = (),
    handlers: Sequence[tuple[Any, Any]] = (),
) -> Iterator[Association]:
    """An established association with `node` proposing `contexts`; released on exit, aborted
    when the block raises.

    Raises PacsUnreachableError (no TCP connection), AssociationRejectedError (A-ASSOCIATE-RJ,
    with its result, source and reason) or AssociationAbortedError (aborted or no answer within
    the node's timeout).
    """
    ae = AE(ae_title=node.calling_ae_title)
    ae.connection_timeout = node.timeout_s
    ae.acse_timeout = node.timeout_s
    ae.dimse_timeout = node.timeout_s
    ae.network_timeout = node.timeout_s
    ae.requested_contexts = list(contexts)
    connected: list[bool] = []

    def on_connection_open(event: evt.Event) -> None:
        connected.append(True)

    try:
        association = ae.associate(
            node.host,
            node.port,
            ae_title=node.ae_title,
            ext_neg=list(roles) or None,
            evt_handlers=[(evt.EVT_CONN_OPEN, on_connection_open), *handlers],
        )
    except OSError as exc:  # the host name does not resolve
        ae.shutdown()
        raise PacsUnreachableError(
            f"cannot connect to {node.host}:{node.port}: {exc.strerror or exc}"
        ) from exc
    try:
        if not association.is_established:
            raise _association_failure(node, association, bool(connected))
        logger.info("association with %s established", node)
        try:
            yield association
        except BaseException:
            # Interrupted mid-operation (error, Ctrl+C): a release could wait on the peer.
            association.abort()
            raise
        if association.is_established:
            association.release()
    finally:
        ae.shutdown()


def _association_failure(node: PacsNode, association: Association, connected: bool) -> Exception:
    if association.is_rejected:
        response = association.acceptor.primitive
        result = getattr(response, "result_str", "Rejected")
        source = getattr(response, "source_str", "unknown source")
        reason = getattr(response, "reason_str", "no reason given")
        return AssociationRejectedError(
            f"{node} rejected the association from {node.calling_ae_title}: {reason} ({result}, {source})",
            result=result,
            source=source,
            reason=reason,
        )
    if connected and association.rejected_contexts and not association.accepted_contexts:
        return ServiceNotSupportedError(
            f"{node} accepted none of the proposed services "
            f"({', '.join(sorted({UID(str(cx.abstract_syntax)).name for cx in association.rejected_contexts}))})"
        )
    if not connected:
        return PacsUnreachableError(
            f"cannot connect to {node.host}:{node.port} within {node.timeout_s:g} s "
            "(host unknown, nothing listening on that port, or a firewall)"
        )
    return AssociationAbortedError(
        f"{node} accepted the connection but did not complete the association within "
        f"{node.timeout_s:g} s, or aborted it"
    )


def require_context(node: PacsNode, association: Association, abstract_syntax: str, what: str) -> None:
    """Raise ServiceNotSupportedError unless the node accepted a context for `abstract_syntax`."""
    if not any(cx.abstract_syntax == abstract_syntax for cx in association.accepted_contexts):
        raise ServiceNotSupportedError(f"{node} does not support {what}")

"""C-STORE of DICOM files (SEG, SR, PDF, MR images...) to a node, one association for all."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import Association, build_context
from pynetdicom.status import STORAGE_SERVICE_CLASS_STATUS

from engine.pacs.association import open_association
from engine.pacs.errors import InstancesNotStoredError, OperationCancelledError
from engine.pacs.node import PacsNode
from engine.pacs.progress import CancelToken, ProgressCallback, TransferProgress, is_cancelled
from engine.pacs.status import status_category, status_meaning

logger = logging.getLogger(__name__)

# PS3.8: at most 128 presentation contexts per association.
MAX_PRESENTATION_CONTEXTS = 128


@dataclass(frozen=True)
class StoreOutcome:
    """What happened to one file: the node's status code and its meaning, or why it was not sent."""

    path: Path
    sop_instance_uid: str | None
    status: int | None  # None: never sent (unreadable, no accepted context, cancelled, lost)
    meaning: str

    @property
    def stored(self) -> bool:
        """True for Success and Warning statuses (the node keeps the instance)."""
        return self.status is not None and status_category(self.status) in ("Success", "Warning")


@dataclass(frozen=True)
class StoreReport:
    outcomes: tuple[StoreOutcome, ...]

    @property
    def stored(self) -> tuple[StoreOutcome, ...]:
        return tuple(o for o in self.outcomes if o.stored)

    @property
    def failed(self) -> tuple[StoreOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.stored)


@dataclass(frozen=True)
class _Header:
    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str


def _read_headers(paths: Sequence[Path]) -> tuple[list[_Header], list[StoreOutcome]]:
    headers, unreadable = [], []
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            headers.append(
                _Header(
                    path, str(ds.SOPClassUID), str(ds.SOPInstanceUID), str(ds.file_meta.TransferSyntaxUID)
                )
            )
        except (OSError, InvalidDicomError, AttributeError) as exc:
            unreadable.append(StoreOutcome(path, None, None, f"not sent: not a readable DICOM file ({exc})"))
    return headers, unreadable


def _contexts(headers: Sequence[_Header]) -> dict[str, list[str]]:
    """Transfer syntaxes to propose per SOP class: the files' own plus the two uncompressed ones."""
    syntaxes: dict[str, list[str]] = {}
    for header in headers:
        proposed = syntaxes.setdefault(header.sop_class_uid, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        if header.transfer_syntax_uid not in proposed:
            proposed.append(header.transfer_syntax_uid)
    return syntaxes


def _summary(node: PacsNode, report: StoreReport) -> str:
    first = report.failed[0]
    code = "" if first.status is None else f"status 0x{first.status:04X}, "
    return (
        f"{len(report.failed)} of {len(report.outcomes)} instance(s) not stored on {node}; "
        f"first: {first.path.name}: {code}{first.meaning}"
    )


def store_files(
    node: PacsNode,
    paths: Sequence[Path],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> StoreReport:
    """C-STORE every file in `paths` to `node` over one association; returns the outcome of each.

    Files are all attempted even when some are refused. Raises InstancesNotStoredError (with the
    report) when any file was not stored, OperationCancelledError (partial report) when `cancel`
    is set between files, and the association errors of `open_association`.
    """
    paths = [Path(p) for p in paths]
    headers, outcomes = _read_headers(paths)
    syntaxes = _contexts(headers)
    proposed = dict(list(syntaxes.items())[:MAX_PRESENTATION_CONTEXTS])
    contexts = [build_context(sop_class, ts) for sop_class, ts in proposed.items()]

    def report_progress() -> None:
        if progress is not None:
            stored = sum(o.stored for o in outcomes)
            progress(TransferProgress(completed=stored, failed=len(outcomes) - stored, total=len(paths)))

    if headers:
        with open_association(node, contexts) as association:
            accepted = {str(cx.abstract_syntax) for cx in association.accepted_contexts}
            for index, header in enumerate(headers):
                if is_cancelled(cancel):
                    outcomes += [
                        StoreOutcome(h.path, h.sop_instance_uid, None, "not sent: cancelled")
                        for h in headers[index:]
                    ]
                    report = StoreReport(tuple(outcomes))
                    raise OperationCancelledError(
                        f"store to {node} cancelled after {len(report.stored)} instance(s)", partial=report
                    )
                outcome = _store_one(node, association, header, accepted)
                outcomes.append(outcome)
                report_progress()
                if outcome.status is None and not association.is_established:
                    outcomes += [
                        StoreOutcome(h.path, h.sop_instance_uid, None, "not sent: the association was lost")
                        for h in headers[index + 1 :]
                    ]
                    break
    report = StoreReport(tuple(outcomes))
    logger.info("C-STORE to %s: %d stored, %d not stored", node, len(report.stored), len(report.failed))
    if report.failed:
        raise InstancesNotStoredError(_summary(node, report), report)
    return report


def _store_one(node: PacsNode, association: Association, header: _Header, accepted: set[str]) -> StoreOutcome:
    name = UID(header.sop_class_uid).name
    if header.sop_class_uid not in accepted:
        return StoreOutcome(
            header.path, header.sop_instance_uid, None, f"not sent: {node} does not accept {name}"
        )
    try:
        dataset: Dataset = pydicom.dcmread(header.path)
    except (OSError, InvalidDicomError) as exc:
        return StoreOutcome(
            header.path, header.sop_instance_uid, None, f"not sent: cannot read the file ({exc})"
        )
    try:
        status = association.send_c_store(dataset)
    except ValueError as exc:  # no accepted context for the file's transfer syntax
        return StoreOutcome(header.path, header.sop_instance_uid, None, f"not sent: {exc}")
    if "Status" not in status:
        return StoreOutcome(
            header.path, header.sop_instance_uid, None, f"no answer from {node} within {node.timeout_s:g} s"
        )
    code = int(status.Status)
    return StoreOutcome(
        header.path, header.sop_instance_uid, code, status_meaning(code, STORAGE_SERVICE_CLASS_STATUS)
    )

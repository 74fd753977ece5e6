"""C-GET of a study (or some of its series) into a local folder the app can open.

C-GET needs no listening port: the node sends the instances back over our own association, in
C-STORE sub-operations we accept as SCP (role selection). Each instance is written atomically as
`<destination>/<SOP Instance UID>.dcm`, exactly as the node sent it (file meta added).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pydicom import uid
from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import build_context, build_role, evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]
from pynetdicom.status import QR_GET_SERVICE_CLASS_STATUS

from engine.atomic_file import write_atomically
from engine.pacs.association import open_association, require_context
from engine.pacs.errors import AssociationAbortedError, OperationCancelledError, RetrieveIncompleteError
from engine.pacs.node import PacsNode
from engine.pacs.progress import CancelToken, ProgressCallback, TransferProgress, is_cancelled
from engine.pacs.status import status_category, status_meaning

logger = logging.getLogger(__name__)

_GET_MODEL = StudyRootQueryRetrieveInformationModelGet
_MESSAGE_ID = 1
_UID_FILE_NAME = re.compile(r"^[0-9.]{1,64}$")

# What a lumbar spine study may hold; one presentation context each (PS3.8 allows 128).
RETRIEVABLE_STORAGE_CLASSES: tuple[str, ...] = (
    uid.MRImageStorage,
    uid.EnhancedMRImageStorage,
    uid.LegacyConvertedEnhancedMRImageStorage,
    uid.EnhancedMRColorImageStorage,
    uid.MRSpectroscopyStorage,
    uid.CTImageStorage,
    uid.EnhancedCTImageStorage,
    uid.LegacyConvertedEnhancedCTImageStorage,
    uid.ComputedRadiographyImageStorage,
    uid.DigitalXRayImageStorageForPresentation,
    uid.SecondaryCaptureImageStorage,
    uid.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    uid.MultiFrameTrueColorSecondaryCaptureImageStorage,
    uid.SegmentationStorage,
    uid.BasicTextSRStorage,
    uid.EnhancedSRStorage,
    uid.ComprehensiveSRStorage,
    uid.Comprehensive3DSRStorage,
    uid.KeyObjectSelectionDocumentStorage,
    uid.EncapsulatedPDFStorage,
    uid.GrayscaleSoftcopyPresentationStateStorage,
)

# Transfer syntaxes the app can decode (pydicom with pylibjpeg / RLE built in).
ACCEPTED_TRANSFER_SYNTAXES: tuple[str, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEG2000,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEGLosslessSV1,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    RLELossless,
)


@dataclass(frozen=True)
class RetrieveReport:
    """What a retrieve brought: files written, and the node's sub-operation counts."""

    destination: Path
    files: tuple[Path, ...]
    completed: int
    failed: int
    warning: int


class _Receiver:
    """C-STORE sub-operation handler: writes each instance to the destination folder."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.files: list[Path] = []
        self.write_failures = 0
        self._lock = threading.Lock()

    def handle_store(self, event: evt.Event) -> int:
        sop_instance_uid = str(cast(C_STORE, event.request).AffectedSOPInstanceUID)
        name = (
            sop_instance_uid
            if _UID_FILE_NAME.match(sop_instance_uid)
            else f"instance-{len(self.files) + 1:06d}"
        )
        path = self.destination / f"{name}.dcm"
        data = event.encoded_dataset(include_meta=True)
        try:
            write_atomically(path, lambda temporary: temporary.write_bytes(data))
        except OSError as exc:
            logger.error("cannot write a received instance to %s: %s", self.destination, exc)
            with self._lock:
                self.write_failures += 1
            return 0xA700  # Refused: Out of Resources
        with self._lock:
            self.files.append(path)
        return 0x0000


def _report(destination: Path, receiver: _Receiver, last: Dataset | None) -> RetrieveReport:
    def count(keyword: str) -> int:
        return int(last.get(keyword, 0) or 0) if last is not None else 0

    return RetrieveReport(
        destination=destination,
        files=tuple(receiver.files),
        completed=max(count("NumberOfCompletedSuboperations"), len(receiver.files)),
        failed=count("NumberOfFailedSuboperations") + receiver.write_failures,
        warning=count("NumberOfWarningSuboperations"),
    )


def retrieve_study(
    node: PacsNode,
    study_instance_uid: str,
    destination: Path,
    *,
    series_instance_uids: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RetrieveReport:
    """C-GET a study (or only `series_instance_uids` of it) from `node` into `destination`.

    Calls `progress` after every pending response. Raises OperationCancelledError (partial
    report; the association is aborted) when `cancel` is set, RetrieveIncompleteError (with the
    report) when the node reports failed sub-operations or a failure status or sends nothing,
    and the association errors of `open_association`.
    """
    if not study_instance_uid.strip():
        raise ValueError("study_instance_uid is empty")
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    identifier = Dataset()
    identifier.StudyInstanceUID = study_instance_uid
    if series_instance_uids:
        identifier.QueryRetrieveLevel = "SERIES"
        identifier.SeriesInstanceUID = list(series_instance_uids)
    else:
        identifier.QueryRetrieveLevel = "STUDY"

    receiver = _Receiver(destination)
    contexts = [build_context(_GET_MODEL)]
    contexts += [build_context(c, list(ACCEPTED_TRANSFER_SYNTAXES)) for c in RETRIEVABLE_STORAGE_CLASSES]
    roles = [build_role(c, scp_role=True) for c in RETRIEVABLE_STORAGE_CLASSES]
    last: Dataset | None = None
    final: int | None = None
    with open_association(
        node, contexts, roles=roles, handlers=[(evt.EVT_C_STORE, receiver.handle_store)]
    ) as association:
        require_context(node, association, _GET_MODEL, "study root C-GET")
        for status, _ in association.send_c_get(identifier, _GET_MODEL, msg_id=_MESSAGE_ID):
            if "Status" not in status:
                raise AssociationAbortedError(
                    f"{node} stopped answering the C-GET (no response within {node.timeout_s:g} s); "
                    f"{len(receiver.files)} instance(s) arrived in {destination}"
                )
            last = status
            code = int(status.Status)
            if status_category(code) != "Pending":
                final = code
                break
            if progress is not None:
                report = _report(destination, receiver, last)
                remaining = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
                progress(
                    TransferProgress(
                        completed=report.completed,
                        failed=report.failed,
                        total=report.completed + report.failed + report.warning + remaining,
                    )
                )
            if is_cancelled(cancel):
                association.abort()
                break
    report = _report(destination, receiver, last)
    logger.info("C-GET from %s: %d instance(s) written", node, len(report.files))
    if is_cancelled(cancel) and final is None:
        raise OperationCancelledError(
            f"retrieve from {node} cancelled after {len(report.files)} instance(s)", partial=report
        )
    return _checked(node, report, final)


def _checked(node: PacsNode, report: RetrieveReport, final: int | None) -> RetrieveReport:
    if final is not None and status_category(final) in ("Failure", "Cancel"):
        meaning = status_meaning(final, QR_GET_SERVICE_CLASS_STATUS)
        raise RetrieveIncompleteError(
            f"{node} ended the C-GET with status 0x{final:04X} ({meaning}); "
            f"{len(report.files)} instance(s) arrived in {report.destination}",
            report,
        )
    if report.failed:
        raise RetrieveIncompleteError(
            f"{report.failed} instance(s) of the study could not be retrieved from {node} "
            f"(e.g. a SOP class the app does not accept); {len(report.files)} arrived in {report.destination}",
            report,
        )
    if not report.files:
        raise RetrieveIncompleteError(f"{node} sent no instance for that study", report)
    return report

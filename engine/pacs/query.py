"""C-FIND in the Study Root information model: studies by patient ID, date or accession; series."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pynetdicom import Association, build_context
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]
from pynetdicom.status import QR_FIND_SERVICE_CLASS_STATUS

from engine.pacs.association import open_association, require_context
from engine.pacs.errors import AssociationAbortedError, OperationCancelledError, OperationFailedError
from engine.pacs.node import PacsNode
from engine.pacs.progress import CancelToken, ProgressCallback, TransferProgress, is_cancelled
from engine.pacs.status import status_category, status_meaning

logger = logging.getLogger(__name__)

# A DICOM date (YYYYMMDD) or range (YYYYMMDD-, -YYYYMMDD, YYYYMMDD-YYYYMMDD).
_DATE_RANGE = re.compile(r"^(\d{8})?(-(\d{8})?)?$")
_MESSAGE_ID = 1


@dataclass(frozen=True)
class StudyQuery:
    """Matching keys of a study-level C-FIND; empty means "any". At least one must be given.

    study_date: YYYYMMDD or a range "YYYYMMDD-YYYYMMDD" (either end may be left open).
    patient_name: DICOM PN with optional * and ? wildcards, e.g. "DOE^J*".
    """

    patient_id: str = ""
    study_date: str = ""
    accession_number: str = ""
    patient_name: str = ""
    modality: str = ""  # matched against Modalities in Study, e.g. "MR"

    def __post_init__(self) -> None:
        if self.study_date and (not _DATE_RANGE.match(self.study_date) or self.study_date == "-"):
            raise ValueError(f"study_date: {self.study_date!r} is not YYYYMMDD or a YYYYMMDD-YYYYMMDD range")
        if not (self.patient_id or self.study_date or self.accession_number or self.patient_name):
            raise ValueError("a study query needs a patient ID, study date, accession number or patient name")

    def __repr__(self) -> str:  # keep patient identifiers out of logs and tracebacks
        return "StudyQuery(<redacted>)"


@dataclass(frozen=True)
class StudyMatch:
    """One study the node reported. Holds identifiers: never log it."""

    study_instance_uid: str
    patient_name: str
    patient_id: str
    patient_birth_date: str
    study_date: str
    study_time: str
    study_description: str
    accession_number: str
    modalities: tuple[str, ...]
    series_count: int | None
    instance_count: int | None

    def __repr__(self) -> str:
        return f"StudyMatch(<redacted>, study_date={self.study_date!r})"


@dataclass(frozen=True)
class SeriesMatch:
    """One series of a study the node reported."""

    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    instance_count: int | None


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _values(ds: Dataset, keyword: str) -> tuple[str, ...]:
    """The values of a multi-valued attribute (CS, ...), empty ones left out."""
    value = ds.get(keyword)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v)


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value)


def _run_find(
    node: PacsNode,
    identifier: Dataset,
    *,
    what: str,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    max_results: int,
) -> list[Dataset]:
    """Matches of one C-FIND; cancels it (C-CANCEL) when `cancel` is set or `max_results` is hit."""
    context = build_context(StudyRootQueryRetrieveInformationModelFind)
    matches: list[Dataset] = []
    with open_association(node, [context]) as association:
        require_context(node, association, StudyRootQueryRetrieveInformationModelFind, "study root C-FIND")
        responses = association.send_c_find(
            identifier, StudyRootQueryRetrieveInformationModelFind, msg_id=_MESSAGE_ID
        )
        cancelled = False
        for status, found in _responses(node, responses, what):
            if status_category(status) == "Pending" and found is not None:
                if not cancelled:
                    matches.append(found)
                if progress is not None:
                    progress(TransferProgress(completed=len(matches), failed=0, total=None))
                if not cancelled and (is_cancelled(cancel) or len(matches) >= max_results):
                    _send_cancel(association)
                    cancelled = True
            elif status_category(status) == "Cancel" or (cancelled and status == 0x0000):
                break
            elif status != 0x0000:
                meaning = status_meaning(status, QR_FIND_SERVICE_CLASS_STATUS)
                raise OperationFailedError(
                    f"{node} refused the {what} query: status 0x{status:04X} ({meaning})",
                    status=status,
                    meaning=meaning,
                )
    if is_cancelled(cancel):
        raise OperationCancelledError(f"{what} query on {node} cancelled", partial=matches)
    if len(matches) >= max_results:
        logger.warning("%s query on %s stopped at %d matches", what, node, max_results)
    return matches


def _responses(
    node: PacsNode, responses: Iterator[tuple[Dataset, Dataset | None]], what: str
) -> Iterator[tuple[int, Dataset | None]]:
    for status, identifier in responses:
        if "Status" not in status:
            raise AssociationAbortedError(
                f"{node} stopped answering the {what} query (no response within {node.timeout_s:g} s)"
            )
        yield int(status.Status), identifier


def _send_cancel(association: Association) -> None:
    context_id = association.accepted_contexts[0].context_id
    association.send_c_cancel(_MESSAGE_ID, context_id)


def find_studies(
    node: PacsNode,
    query: StudyQuery,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_results: int = 500,
) -> tuple[StudyMatch, ...]:
    """Studies on `node` matching `query` (C-FIND, STUDY level), as the node reports them.

    Stops (C-CANCEL) after `max_results` matches. Raises OperationFailedError with the status
    meaning when the node refuses, OperationCancelledError when `cancel` is set.
    """
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.PatientID = query.patient_id
    identifier.PatientName = query.patient_name
    identifier.StudyDate = query.study_date
    identifier.AccessionNumber = query.accession_number
    identifier.ModalitiesInStudy = query.modality
    for keyword in (
        "StudyInstanceUID",
        "PatientBirthDate",
        "StudyTime",
        "StudyDescription",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ):
        setattr(identifier, keyword, "")
    found = _run_find(
        node, identifier, what="study", progress=progress, cancel=cancel, max_results=max_results
    )
    return tuple(
        StudyMatch(
            study_instance_uid=_text(ds, "StudyInstanceUID"),
            patient_name=_text(ds, "PatientName"),
            patient_id=_text(ds, "PatientID"),
            patient_birth_date=_text(ds, "PatientBirthDate"),
            study_date=_text(ds, "StudyDate"),
            study_time=_text(ds, "StudyTime"),
            study_description=_text(ds, "StudyDescription"),
            accession_number=_text(ds, "AccessionNumber"),
            modalities=_values(ds, "ModalitiesInStudy"),
            series_count=_int_or_none(ds.get("NumberOfStudyRelatedSeries")),
            instance_count=_int_or_none(ds.get("NumberOfStudyRelatedInstances")),
        )
        for ds in found
        if _text(ds, "StudyInstanceUID")
    )


def find_series(
    node: PacsNode,
    study_instance_uid: str,
    *,
    cancel: CancelToken | None = None,
    max_results: int = 1000,
) -> tuple[SeriesMatch, ...]:
    """Series of one study on `node` (C-FIND, SERIES level), sorted by series number."""
    if not study_instance_uid.strip():
        raise ValueError("study_instance_uid is empty")
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES"
    identifier.StudyInstanceUID = study_instance_uid
    for keyword in ("SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription"):
        setattr(identifier, keyword, "")
    identifier.NumberOfSeriesRelatedInstances = ""
    found = _run_find(node, identifier, what="series", progress=None, cancel=cancel, max_results=max_results)
    series = [
        SeriesMatch(
            series_instance_uid=_text(ds, "SeriesInstanceUID"),
            modality=_text(ds, "Modality"),
            series_number=_int_or_none(ds.get("SeriesNumber")),
            series_description=_text(ds, "SeriesDescription"),
            instance_count=_int_or_none(ds.get("NumberOfSeriesRelatedInstances")),
        )
        for ds in found
        if _text(ds, "SeriesInstanceUID")
    ]
    return tuple(sorted(series, key=lambda s: (s.series_number is None, s.series_number or 0)))

"""Encapsulated PDF Storage (PS3.3 A.45.1) of a report PDF, built with plain pydicom.

Patient and study attributes come from a source image of the study, so the PDF files into the
same study on a PACS; the PDF gets a new series (Modality DOC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import EncapsulatedPDFStorage, ExplicitVRLittleEndian, generate_uid

from engine import __version__ as ENGINE_VERSION
from engine.export import dicom_codes
from engine.export.dicom_seg import MANUFACTURER, MODEL_NAME
from engine.export.errors import DicomExportError
from engine.export.signer import ReportSigner
from engine.export.source_images import read_source_header
from engine.study.model import Study

PDF_MIME_TYPE = "application/pdf"
PDF_SERIES_DESCRIPTION = "LSS Desktop report (PDF)"
DEFAULT_DOCUMENT_TITLE = "MRI lumbar spine report"

# Patient and General Study module attributes copied from the source image when present.
_PATIENT_STUDY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "StudyDescription",
)


def _patient_and_study(study: Study) -> Dataset:
    """Patient/study attributes from the study's first image, or from the Study when it has none."""
    first = next((s.slices[0] for s in study.series if s.slices), None)
    attributes = Dataset()
    if first is not None:
        header = read_source_header(first)
        for keyword in _PATIENT_STUDY_KEYWORDS:
            if keyword in header:
                attributes[keyword] = header[keyword]
    fallback = {
        "PatientName": study.patient.name,
        "PatientID": study.patient.patient_id,
        "PatientBirthDate": study.patient.birth_date,
        "PatientSex": study.patient.sex,
        "StudyInstanceUID": study.study_instance_uid,
        "StudyDate": study.study_date,
        "StudyTime": "",
        "ReferringPhysicianName": "",
        "StudyID": "",
        "AccessionNumber": study.accession_number,
    }
    for keyword, value in fallback.items():
        if keyword not in attributes:
            setattr(attributes, keyword, value)
    return attributes


def build_encapsulated_pdf(
    study: Study,
    pdf_bytes: bytes,
    *,
    series_number: int,
    document_title: str = DEFAULT_DOCUMENT_TITLE,
    source_instances: Sequence[Dataset] = (),
    signer: ReportSigner | None = None,
    created_at: datetime | None = None,
) -> Dataset:
    """An Encapsulated PDF Storage instance holding `pdf_bytes`, in a new series of the study.

    source_instances: headers of the images whose content the PDF shows (key images); they are
        listed in Source Instance Sequence.
    signer: marks the document VERIFIED when given.
    Raises DicomExportError when `pdf_bytes` is not a PDF.
    """
    if not pdf_bytes.startswith(b"%PDF-"):
        raise DicomExportError("pdf_bytes: not a PDF document (it does not start with %PDF-)")
    now = created_at or datetime.now()
    sop_instance_uid = generate_uid()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: copied names keep their characters
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    ds.update(_patient_and_study(study))

    ds.Modality = "DOC"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = series_number
    ds.SeriesDescription = PDF_SERIES_DESCRIPTION
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MODEL_NAME
    ds.SoftwareVersions = f"LSS Desktop engine {ENGINE_VERSION}"
    ds.ConversionType = "WSD"  # workstation: the PDF was produced by software, not scanned

    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"  # the report shows patient identification
    ds.DocumentTitle = document_title[:64]
    concept = Dataset()
    concept.CodeValue = dicom_codes.MRI_SPINE_REPORT.value
    concept.CodingSchemeDesignator = dicom_codes.MRI_SPINE_REPORT.scheme_designator
    concept.CodeMeaning = dicom_codes.MRI_SPINE_REPORT.meaning
    ds.ConceptNameCodeSequence = [concept]
    ds.VerificationFlag = "VERIFIED" if signer is not None else "UNVERIFIED"
    if source_instances:
        references = []
        for source in source_instances:
            reference = Dataset()
            reference.ReferencedSOPClassUID = source.SOPClassUID
            reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
            references.append(reference)
        ds.SourceInstanceSequence = references
    ds.MIMETypeOfEncapsulatedDocument = PDF_MIME_TYPE
    # PS3.3 C.24.2.1: pad an odd-length document with one NUL; the length keeps the true size.
    ds.EncapsulatedDocument = pdf_bytes + (b"\x00" if len(pdf_bytes) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(pdf_bytes)
    return ds

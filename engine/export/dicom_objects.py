"""Writes a study's DICOM exports to a folder: SEG(s), TID 1500 SR, Encapsulated PDF.

The entry point the `lss report` command and the app call. Files are written atomically (a
temporary file renamed into place), so an interrupted export never leaves a truncated object.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from engine.atomic_file import write_atomically
from engine.export.anonymise import Anonymiser
from engine.export.dicom_pdf import build_encapsulated_pdf
from engine.export.dicom_seg import build_segmentations
from engine.export.dicom_sr import build_measurement_report
from engine.export.errors import DicomExportError
from engine.export.signer import ReportSigner
from engine.export.source_images import find_image, read_source_header, read_source_headers
from engine.findings import StudyFindings
from engine.study.model import Study

logger = logging.getLogger(__name__)

# Exported series are numbered after the study's own: SEG(s), then SR, then PDF.
_SERIES_NUMBER_GAP = 100


def write_dataset_atomically(dataset: Dataset, path: Path) -> Path:
    """Save `dataset` as a DICOM file (with file meta) at `path`, atomically."""
    return write_atomically(path, lambda temporary: dataset.save_as(temporary, enforce_file_format=True))


def _first_export_series_number(study: Study) -> int:
    numbers = [s.series_number for s in study.series if s.series_number is not None]
    return max(numbers, default=0) + _SERIES_NUMBER_GAP


def _referenced_source_uids(objects: Sequence[Dataset]) -> list[str]:
    """SOP Instance UIDs of the study's images the exported objects reference, in first-seen order."""
    found: dict[str, None] = {}
    exported = {str(o.SOPInstanceUID) for o in objects}

    def visit(ds: Dataset, element: pydicom.DataElement) -> None:
        if element.keyword == "ReferencedSOPInstanceUID" and element.value not in exported:
            found[str(element.value)] = None

    for obj in objects:
        obj.walk(visit)
    return list(found)


def export_dicom_objects(
    study: Study,
    findings: StudyFindings,
    out_dir: Path,
    *,
    pdf_bytes: bytes | None = None,
    anonymise: bool = False,
    signer: ReportSigner | None = None,
    anonymiser: Anonymiser | None = None,
) -> list[Path]:
    """Build and write the DICOM exports of `findings` on `study` into `out_dir`; returns the paths.

    Writes one SEG per encodable group of masks (`LSS_SEG_<n>.dcm`, none when there are no
    masks), the TID 1500 SR (`LSS_SR.dcm`) and, with `pdf_bytes`, the Encapsulated PDF
    (`LSS_PDF.dcm`). A `signer` marks the SR verified and final and the PDF verified.

    anonymise: de-identify every object with one `Anonymiser` (the one given, or a new one) and
        also write anonymised copies of the source images they reference under
        `out_dir/images/`, so the SR's and SEG's references resolve within the export. The PDF's
        content is not inspected: render it for `anonymiser.pseudonymised_patient(...)` first.
    Raises DicomExportError when an object cannot be built; masks that cannot be encoded are
    left out with a logged warning.
    """
    out_dir = Path(out_dir)
    series_number = _first_export_series_number(study)
    built = build_segmentations(study, findings.masks, first_series_number=series_number)
    segmentations = list(built.segmentations)
    series_number += max(len(segmentations), 1)
    report = build_measurement_report(
        study, findings, segmentations, series_number=series_number, signer=signer
    )
    named: list[tuple[str, Dataset]] = [(f"LSS_SEG_{i}.dcm", s) for i, s in enumerate(segmentations, 1)]
    named.append(("LSS_SR.dcm", report))
    if pdf_bytes is not None:
        key_uids = [f.key_slice_sop_instance_uid for f in findings.findings if f.key_slice_sop_instance_uid]
        pdf = build_encapsulated_pdf(
            study,
            pdf_bytes,
            series_number=series_number + 1,
            source_instances=list(read_source_headers(study, key_uids).values()),
            signer=signer,
        )
        named.append(("LSS_PDF.dcm", pdf))

    if anonymise:
        anonymiser = anonymiser or Anonymiser()
        images = _referenced_source_uids([ds for _, ds in named])
        named = [(name, anonymiser.anonymise(ds)) for name, ds in named]
        named += _anonymised_source_images(study, images, anonymiser)
    elif anonymiser is not None:
        raise DicomExportError("an anonymiser was given but anonymise is False")

    written = [write_dataset_atomically(ds, out_dir / name) for name, ds in named]
    logger.info("wrote %d DICOM objects (anonymised: %s)", len(written), anonymise)
    return written


def _anonymised_source_images(
    study: Study, sop_instance_uids: Sequence[str], anonymiser: Anonymiser
) -> list[tuple[str, Dataset]]:
    images = []
    for number, uid in enumerate(sop_instance_uids, start=1):
        try:
            _, image = find_image(study, uid)
        except KeyError:
            raise DicomExportError(f"instance {uid} is referenced but not part of the study") from None
        dataset = read_source_header(image, with_pixels=True)
        images.append((f"images/IM{number:05d}.dcm", anonymiser.anonymise(dataset)))
    return images

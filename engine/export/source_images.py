"""Reading the source DICOM headers that exported objects copy patient/study data from and reference."""

from __future__ import annotations

from collections.abc import Iterable

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from engine.export.errors import DicomExportError
from engine.study.model import ImageSlice, Series, Study


def find_image(study: Study, sop_instance_uid: str) -> tuple[Series, ImageSlice]:
    """The series and slice holding an instance (first frame for multi-frame); KeyError if absent."""
    for series in study.series:
        for image in series.slices:
            if image.sop_instance_uid == sop_instance_uid:
                return series, image
    raise KeyError(sop_instance_uid)


def read_source_header(image: ImageSlice, *, with_pixels: bool = False) -> Dataset:
    """The DICOM dataset of a slice's file, without pixel data unless `with_pixels`.

    Raises DicomExportError naming the file when it is missing or not DICOM.
    """
    try:
        return pydicom.dcmread(image.source_path, stop_before_pixels=not with_pixels)
    except (OSError, InvalidDicomError) as exc:
        raise DicomExportError(f"cannot read source image {image.source_path}: {exc}") from exc


def read_source_headers(study: Study, sop_instance_uids: Iterable[str]) -> dict[str, Dataset]:
    """Headers of the given instances keyed by SOP Instance UID, in first-seen order.

    Raises DicomExportError for an instance the study does not hold or a file that cannot be read.
    """
    headers: dict[str, Dataset] = {}
    for uid in sop_instance_uids:
        if uid in headers:
            continue
        try:
            _, image = find_image(study, uid)
        except KeyError:
            raise DicomExportError(f"instance {uid} is referenced but not part of the study") from None
        headers[uid] = read_source_header(image)
    return headers

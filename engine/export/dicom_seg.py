"""DICOM Segmentation (binary SEG) of the study's masks, referencing the source MR images.

One SEG instance per group of source images that highdicom can encode together: single-frame
images of one series sharing orientation and matrix, or one multi-frame image. Angled axial
stacks (one orientation per disc) therefore give one SEG per stack. Each structure is one segment,
labelled with its structure name and coded with SNOMED CT (see `dicom_codes`).

Segment Algorithm Type (PS3.3 C.8.20.2): AUTOMATIC when every mask of the segment came from the
model unchanged; SEMIAUTOMATIC when a person edited at least one of them (the model's masks were
the start); MANUAL when no mask of the segment carries model provenance (drawn by a person).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from engine import __version__ as ENGINE_VERSION
from engine.export.dicom_codes import segment_coding
from engine.export.errors import DicomExportError
from engine.export.source_images import find_image, read_source_header
from engine.findings import Provenance, SliceMask, Structure
from engine.study.model import Study

logger = logging.getLogger(__name__)

MANUFACTURER = "LSS Desktop project"
MODEL_NAME = "LSS Desktop"
# Open-source software has no serial number; Enhanced General Equipment needs a value (type 1).
DEVICE_SERIAL_NUMBER = "LSS-DESKTOP-OSS"
CONTENT_LABEL = "LSS_MASKS"
SEGMENTATION_SERIES_DESCRIPTION = "LSS Desktop segmentation"
SOFTWARE_VERSIONS = 0x00181020  # (0018,1020) Software Versions, LO, multi-valued

_STRUCTURE_ORDER = {s.value: i for i, s in enumerate(Structure)}


@dataclass(frozen=True)
class SegmentationBuild:
    """SEG instances built for a study and what was left out of them (one line per mask or group)."""

    segmentations: tuple[hd.seg.Segmentation, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class SegmentationFrameReference:
    """Where a structure on one source image lies in a SEG: 1-based frame and segment numbers."""

    segmentation: Dataset
    frame_number: int
    segment_number: int
    source_sop_class_uid: str
    source_sop_instance_uid: str
    source_frame_number: int | None  # 1-based frame of a multi-frame source image


def algorithm_identification(provenance: Provenance) -> hd.AlgorithmIdentificationSequence:
    """Algorithm Identification Sequence of the model that produced a mask."""
    parameters = dict(provenance.parameters)
    parameters["weights_sha256"] = provenance.model_sha256
    parameters["engine_version"] = provenance.engine_version
    return hd.AlgorithmIdentificationSequence(
        name=provenance.model_name,
        family=codes.cid7162.ArtificialIntelligence,
        version=provenance.model_version,
        source=MODEL_NAME,
        parameters=parameters,
    )


def _algorithm_type(masks: Sequence[SliceMask]) -> hd.seg.SegmentAlgorithmTypeValues:
    if all(m.provenance is None for m in masks):
        return hd.seg.SegmentAlgorithmTypeValues.MANUAL
    if any(m.edited_by_person or m.provenance is None for m in masks):
        return hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC
    return hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC


def _structure_sort_key(structure: str) -> tuple[int, str]:
    return (_STRUCTURE_ORDER.get(structure, len(_STRUCTURE_ORDER)), structure)


@dataclass
class _Group:
    """Source images encoded together in one SEG, with the masks on them."""

    headers: list[Dataset]
    frames_per_image: int  # 1 for single-frame images, NumberOfFrames for one multi-frame image
    masks: list[tuple[SliceMask, int]]  # each with its 0-based frame within its image


def _group_masks(study: Study, masks: Sequence[SliceMask], warnings: list[str]) -> list[_Group]:
    groups: dict[tuple[object, ...], _Group] = {}
    headers: dict[str, Dataset] = {}
    for mask in masks:
        where = f"{mask.structure!r} mask on instance {mask.sop_instance_uid}"
        try:
            _, image = find_image(study, mask.sop_instance_uid)
        except KeyError:
            warnings.append(f"{where}: the instance is not part of the study; mask left out")
            continue
        if mask.sop_instance_uid not in headers:
            try:
                headers[mask.sop_instance_uid] = read_source_header(image)
            except DicomExportError as exc:
                warnings.append(f"{where}: {exc}; mask left out")
                continue
        header = headers[mask.sop_instance_uid]
        array = np.asarray(mask.mask)
        if array.shape != (header.Rows, header.Columns):
            warnings.append(
                f"{where}: mask shape {array.shape} differs from the image ({header.Rows}, "
                f"{header.Columns}); mask left out"
            )
            continue
        if not array.any():
            continue
        frames = int(getattr(header, "NumberOfFrames", 1) or 1)
        if frames > 1 or mask.frame_index is not None:
            if mask.frame_index is None or not 0 <= mask.frame_index < frames:
                warnings.append(f"{where}: frame {mask.frame_index} outside 0..{frames - 1}; mask left out")
                continue
            key: tuple[object, ...] = ("multi-frame", mask.sop_instance_uid)
        else:
            orientation = tuple(round(float(v), 4) for v in getattr(header, "ImageOrientationPatient", ()))
            key = ("single-frame", header.SeriesInstanceUID, orientation, header.Rows, header.Columns)
        group = groups.setdefault(key, _Group(headers=[], frames_per_image=frames, masks=[]))
        if all(h.SOPInstanceUID != header.SOPInstanceUID for h in group.headers):
            group.headers.append(header)
        group.masks.append((mask, mask.frame_index or 0))
    return list(groups.values())


def _segmentation_for_group(
    group: _Group, *, series_number: int, content_creator_name: str | None
) -> hd.seg.Segmentation:
    structures = sorted({m.structure for m, _ in group.masks}, key=_structure_sort_key)
    rows, columns = group.headers[0].Rows, group.headers[0].Columns
    n_frames = len(group.headers) * group.frames_per_image
    pixels = np.zeros((n_frames, rows, columns, len(structures)), dtype=bool)
    image_index = {h.SOPInstanceUID: i for i, h in enumerate(group.headers)}
    for mask, frame_in_image in group.masks:
        frame = image_index[mask.sop_instance_uid] * group.frames_per_image + frame_in_image
        pixels[frame, :, :, structures.index(mask.structure)] |= np.asarray(mask.mask, dtype=bool)

    descriptions = []
    for number, structure in enumerate(structures, start=1):
        masks = [m for m, _ in group.masks if m.structure == structure]
        algorithm_type = _algorithm_type(masks)
        provenance = next((m.provenance for m in masks if m.provenance is not None), None)
        coding = segment_coding(structure)
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=structure[:64],
                segmented_property_category=coding.category,
                segmented_property_type=coding.property_type,
                algorithm_type=algorithm_type,
                algorithm_identification=(
                    None
                    if algorithm_type is hd.seg.SegmentAlgorithmTypeValues.MANUAL or provenance is None
                    else algorithm_identification(provenance)
                ),
                anatomic_regions=None if coding.anatomic_region is None else [coding.anatomic_region],
            )
        )
    provenance = next((m.provenance for m, _ in group.masks if m.provenance is not None), None)
    software_versions: tuple[str, ...] = (f"LSS Desktop engine {ENGINE_VERSION}",)
    if provenance is not None:
        software_versions += (f"{provenance.model_name} {provenance.model_version}",)
    segmentation = hd.seg.Segmentation(
        source_images=group.headers,
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MODEL_NAME,
        software_versions=software_versions[0],
        device_serial_number=DEVICE_SERIAL_NUMBER,
        content_label=CONTENT_LABEL,
        content_description="Masks drafted by LSS Desktop; review before clinical use",
        content_creator_name=content_creator_name,
    )
    segmentation.SeriesDescription = SEGMENTATION_SERIES_DESCRIPTION
    segmentation.add_new(SOFTWARE_VERSIONS, "LO", list(software_versions))  # highdicom takes one
    return segmentation


def build_segmentations(
    study: Study,
    masks: Sequence[SliceMask],
    *,
    first_series_number: int,
    content_creator_name: str | None = None,
) -> SegmentationBuild:
    """Binary DICOM SEG instances of `masks` (bool (rows, columns) arrays) on the study's images.

    Empty masks are skipped. Masks that cannot be encoded (unknown instance, unreadable file,
    wrong shape) are left out with a warning; the others are still exported. Each SEG gets a new
    series, numbered from `first_series_number` up. `content_creator_name` (DICOM PN) names the
    person who edited masks, when known.
    """
    warnings: list[str] = []
    segmentations: list[hd.seg.Segmentation] = []
    for group in _group_masks(study, masks, warnings):
        try:
            segmentations.append(
                _segmentation_for_group(
                    group,
                    series_number=first_series_number + len(segmentations),
                    content_creator_name=content_creator_name,
                )
            )
        except (ValueError, TypeError) as exc:
            series_uid = group.headers[0].SeriesInstanceUID
            warnings.append(f"masks on series {series_uid} could not be encoded as DICOM SEG: {exc}")
    for warning in warnings:
        logger.warning("%s", warning)
    return SegmentationBuild(segmentations=tuple(segmentations), warnings=tuple(warnings))


def find_segmentation_frame(
    segmentations: Sequence[Dataset],
    sop_instance_uid: str,
    structure: str,
    frame_index: int | None = None,
) -> SegmentationFrameReference | None:
    """The SEG frame holding `structure` on a source instance (0-based `frame_index` for
    multi-frame sources), or None when no SEG has it."""
    wanted_frame = None if frame_index is None else frame_index + 1
    for segmentation in segmentations:
        segment_number = next(
            (
                int(item.SegmentNumber)
                for item in segmentation.SegmentSequence
                if item.SegmentLabel == structure[:64]
            ),
            None,
        )
        if segment_number is None:
            continue
        shared = segmentation.SharedFunctionalGroupsSequence[0]
        for number, item in enumerate(segmentation.PerFrameFunctionalGroupsSequence, start=1):
            # A functional group is per frame, or shared by all frames (e.g. with one segment).
            identification = item.get("SegmentIdentificationSequence") or shared.SegmentIdentificationSequence
            if int(identification[0].ReferencedSegmentNumber) != segment_number:
                continue
            for derivation in item.get("DerivationImageSequence") or shared.DerivationImageSequence:
                for source in derivation.SourceImageSequence:
                    source_frame = (
                        int(source.ReferencedFrameNumber) if "ReferencedFrameNumber" in source else None
                    )
                    if source.ReferencedSOPInstanceUID == sop_instance_uid and source_frame == wanted_frame:
                        return SegmentationFrameReference(
                            segmentation=segmentation,
                            frame_number=number,
                            segment_number=segment_number,
                            source_sop_class_uid=source.ReferencedSOPClassUID,
                            source_sop_instance_uid=source.ReferencedSOPInstanceUID,
                            source_frame_number=source_frame,
                        )
    return None

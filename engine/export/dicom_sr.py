"""Comprehensive 3D SR with a TID 1500 Measurement Report of the per-level central canal findings.

One measurement group per disc level (in DISC_LEVELS order), with the level as finding site and
the dural sac as finding type:
- a TID 1410 planar ROI group referencing the dural sac frame of the key slice in a DICOM SEG,
  when the SEG holds one; otherwise a TID 1501 group referencing the key slice itself;
- measurements (TID 300): dural sac cross-sectional area (SCT Area, UCUM mm2) and AP diameter
  (SCT Diameter, UCUM mm, method 99LSSD AP-EXTENT), each with the model as algorithm;
- qualitative evaluations: the Schizas grade (local codes, see `dicom_codes`), the severity it
  stands for (SNOMED CT), and whether the measurement was made on a person-edited mask.
Observation context: the device (LSS Desktop, model name and version) and, once signed, the
signing person; a signed report is COMPLETE, VERIFIED and FINAL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid
from pydicom.valuerep import DT

from engine import __version__ as ENGINE_VERSION
from engine.export import dicom_codes
from engine.export.dicom_seg import MANUFACTURER, MODEL_NAME, SOFTWARE_VERSIONS, find_segmentation_frame
from engine.export.errors import DicomExportError
from engine.export.signer import ReportSigner
from engine.export.source_images import read_source_header, read_source_headers
from engine.findings import DISC_LEVELS, LevelFinding, Provenance, Structure, StudyFindings
from engine.study.model import Study

logger = logging.getLogger(__name__)

SR_SERIES_DESCRIPTION = "LSS Desktop measurements"
_REFERENCED_SEGMENTATION_FRAME = "121214"


def device_observer_uid(engine_version: str = ENGINE_VERSION) -> str:
    """A stable Device Observer UID for this engine version."""
    return generate_uid(entropy_srcs=["LSS Desktop", "device observer", engine_version])


def _observation_context(
    provenance: Provenance | None, signer: ReportSigner | None
) -> hd.sr.ObservationContext:
    model = MODEL_NAME if provenance is None else f"{provenance.model_name} {provenance.model_version}"
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=device_observer_uid(),
            name=MODEL_NAME,
            manufacturer_name=MANUFACTURER,
            model_name=model[:64],
        ),
    )
    person = None
    if signer is not None:
        person = hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=signer.dicom_name, organization_name=signer.organisation
            ),
        )
    return hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device)


def _algorithm(provenance: Provenance) -> hd.sr.AlgorithmIdentification:
    parameters = [f"{k}={v}" for k, v in provenance.parameters]
    parameters.append(f"weights_sha256={provenance.model_sha256}")
    return hd.sr.AlgorithmIdentification(
        name=provenance.model_name, version=provenance.model_version, parameters=parameters
    )


def _measurements(finding: LevelFinding) -> list[hd.sr.Measurement]:
    algorithm = _algorithm(finding.provenance)
    found = []
    if finding.dural_sac_area_mm2 is not None:
        found.append(
            hd.sr.Measurement(
                name=dicom_codes.AREA,
                value=float(finding.dural_sac_area_mm2),
                unit=dicom_codes.SQUARE_MILLIMETRE,
                algorithm_id=algorithm,
            )
        )
    if finding.ap_diameter_mm is not None:
        found.append(
            hd.sr.Measurement(
                name=dicom_codes.DIAMETER,
                value=float(finding.ap_diameter_mm),
                unit=dicom_codes.MILLIMETRE,
                method=dicom_codes.AP_EXTENT_METHOD,
                algorithm_id=algorithm,
            )
        )
    return found


def _evaluations(finding: LevelFinding, has_measurements: bool) -> list[hd.sr.QualitativeEvaluation]:
    evaluations = [
        hd.sr.QualitativeEvaluation(dicom_codes.SCHIZAS_GRADE, dicom_codes.schizas_grade_code(finding.grade)),
        hd.sr.QualitativeEvaluation(dicom_codes.SEVERITY, dicom_codes.severity_code(finding.grade)),
    ]
    if has_measurements:
        edited = dicom_codes.YES if finding.measured_on_edited_mask else dicom_codes.NO
        evaluations.append(hd.sr.QualitativeEvaluation(dicom_codes.MEASURED_ON_EDITED_MASK, edited))
    return evaluations


def _finding_sites(level: str) -> list[hd.sr.FindingSite] | None:
    try:
        return [hd.sr.FindingSite(dicom_codes.level_code(level))]
    except KeyError as exc:
        logger.warning("SR finding without a coded finding site: %s", exc)
        return None


def _dural_sac_frame_of_key_slice(
    finding: LevelFinding, segmentations: Sequence[Dataset]
) -> hd.sr.ReferencedSegmentationFrame | None:
    if finding.key_slice_sop_instance_uid is None:
        return None
    frame = find_segmentation_frame(
        segmentations, finding.key_slice_sop_instance_uid, Structure.DURAL_SAC, finding.key_slice_frame_index
    )
    if frame is None:
        return None
    return hd.sr.ReferencedSegmentationFrame(
        sop_class_uid=frame.segmentation.SOPClassUID,
        sop_instance_uid=frame.segmentation.SOPInstanceUID,
        frame_number=frame.frame_number,
        segment_number=frame.segment_number,
        source_image=hd.sr.SourceImageForSegmentation(
            referenced_sop_class_uid=frame.source_sop_class_uid,
            referenced_sop_instance_uid=frame.source_sop_instance_uid,
            referenced_frame_numbers=(
                None if frame.source_frame_number is None else [frame.source_frame_number]
            ),
        ),
    )


def _key_slice_source(
    finding: LevelFinding, key_headers: dict[str, Dataset]
) -> list[hd.sr.SourceImageForMeasurementGroup] | None:
    if finding.key_slice_sop_instance_uid is None:
        return None
    header = key_headers[finding.key_slice_sop_instance_uid]
    frame = finding.key_slice_frame_index
    return [
        hd.sr.SourceImageForMeasurementGroup(
            referenced_sop_class_uid=header.SOPClassUID,
            referenced_sop_instance_uid=header.SOPInstanceUID,
            referenced_frame_numbers=None if frame is None else [frame + 1],
        )
    ]


def _measurement_group(
    finding: LevelFinding,
    segmentations: Sequence[Dataset],
    key_headers: dict[str, Dataset],
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations | hd.sr.MeasurementsAndQualitativeEvaluations:
    """TID 1410 group on the key slice's dural sac SEG frame when there is one, else TID 1501."""
    measurements = _measurements(finding)
    tracking = hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{finding.level} dural sac")
    evaluations = _evaluations(finding, bool(measurements))
    segment = _dural_sac_frame_of_key_slice(finding, segmentations)
    if segment is not None:
        return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            referenced_segment=segment,
            finding_type=dicom_codes.DURAL_SAC,
            algorithm_id=_algorithm(finding.provenance),
            finding_sites=_finding_sites(finding.level),
            measurements=measurements or None,
            qualitative_evaluations=evaluations,
        )
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        finding_type=dicom_codes.DURAL_SAC,
        algorithm_id=_algorithm(finding.provenance),
        finding_sites=_finding_sites(finding.level),
        measurements=measurements or None,
        qualitative_evaluations=evaluations,
        source_images=_key_slice_source(finding, key_headers),
    )


def _drop_segment_number_beside_frame_number(items: Sequence[Dataset]) -> None:
    """A Referenced Segmentation Frame names its SEG frame; PS3.3 Table 10-3 forbids Referenced
    Segment Number beside Referenced Frame Number (highdicom writes both; dciodvfy flags it)."""
    for item in items:
        concept = item.get("ConceptNameCodeSequence")
        if (
            item.get("ValueType") == "IMAGE"
            and concept
            and concept[0].CodeValue == _REFERENCED_SEGMENTATION_FRAME
        ):
            for reference in item.ReferencedSOPSequence:
                if "ReferencedFrameNumber" in reference and "ReferencedSegmentNumber" in reference:
                    del reference.ReferencedSegmentNumber
        if "ContentSequence" in item:
            _drop_segment_number_beside_frame_number(item.ContentSequence)


def _level_order(finding: LevelFinding) -> int:
    return DISC_LEVELS.index(finding.level) if finding.level in DISC_LEVELS else len(DISC_LEVELS)


def build_measurement_report(
    study: Study,
    findings: StudyFindings,
    segmentations: Sequence[Dataset],
    *,
    series_number: int,
    signer: ReportSigner | None = None,
) -> hd.sr.Comprehensive3DSR:
    """The TID 1500 Comprehensive 3D SR of `findings`, referencing `segmentations` and key slices.

    Raises DicomExportError when a key slice is not part of the study or cannot be read, or when
    the study holds no image to take patient and study data from.
    """
    ordered = sorted(findings.findings, key=_level_order)
    key_uids = [f.key_slice_sop_instance_uid for f in ordered if f.key_slice_sop_instance_uid]
    key_headers = read_source_headers(study, key_uids)
    groups = [_measurement_group(f, segmentations, key_headers) for f in ordered]
    provenance = findings.provenance or next((f.provenance for f in ordered), None)
    report = hd.sr.MeasurementReport(
        observation_context=_observation_context(provenance, signer),
        procedure_reported=dicom_codes.MR_PROCEDURE,
        imaging_measurements=groups or None,
    )

    evidence: list[Dataset] = list(key_headers.values())
    if not evidence:
        first = next((s.slices[0] for s in study.series if s.slices), None)
        if first is None:
            raise DicomExportError("the study holds no image to take patient and study data from")
        evidence.append(read_source_header(first))
    evidence.extend(segmentations)

    signed = signer is not None
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=signed,
        is_final=signed,
        is_verified=signed,
        verifying_observer_name=signer.dicom_name if signer else None,
        verifying_organization=signer.organisation if signer else None,
    )
    if signer is not None:
        sr.VerifyingObserverSequence[0].VerificationDateTime = DT(signer.signed_at)
    sr.SeriesDescription = SR_SERIES_DESCRIPTION
    sr.ManufacturerModelName = MODEL_NAME
    versions = [f"LSS Desktop engine {ENGINE_VERSION}"]
    if provenance is not None:
        versions.append(f"{provenance.model_name} {provenance.model_version}")
    sr.add_new(SOFTWARE_VERSIONS, "LO", versions)
    sr.CodingSchemeIdentificationSequence = [dicom_codes.local_scheme_identification()]
    _drop_segment_number_beside_frame_number(sr.ContentSequence)
    return sr

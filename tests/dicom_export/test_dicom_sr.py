"""TID 1500 SR: valid per dciodvfy, values and codes as in the findings, references that resolve."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import highdicom as hd
import pydicom
import pytest

from engine.export.dicom_seg import build_segmentations
from engine.export.dicom_sr import build_measurement_report
from engine.export.signer import ReportSigner
from engine.findings import SliceMask, Structure, StudyFindings

SIGNER = ReportSigner(
    name="Reader^Rosa", organisation="General Hospital", signed_at=datetime(2024, 3, 16, 9, 30)
)
# dciodvfy does not know private coding schemes; the local scheme is declared in the object.
PRIVATE_SCHEME_WARNING = (
    "Warning - Unrecognized defined term <99LSSD> for value 1 of attribute <Coding Scheme Designator>"
)


def _items(items):
    for item in items:
        yield item
        if "ContentSequence" in item:
            yield from _items(item.ContentSequence)


def _concept(item):
    return item.ConceptNameCodeSequence[0].CodeValue


def _groups(sr):
    measurements = next(i for i in sr.ContentSequence if _concept(i) == "126010")
    return [g for g in measurements.ContentSequence if _concept(g) == "125007"]


def _group_summary(group):
    items = list(group.ContentSequence)
    summary = {}
    for item in items:
        code = _concept(item)
        if item.ValueType == "NUM":
            summary[code] = float(item.MeasuredValueSequence[0].NumericValue)
            summary[code + "-unit"] = item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue
        elif item.ValueType == "CODE":
            summary[code] = item.ConceptCodeSequence[0].CodeValue
        elif item.ValueType == "TEXT":
            summary[code] = item.TextValue
    return summary


@pytest.fixture
def built(study, findings, tmp_path):
    segmentations = build_segmentations(study, findings.masks, first_series_number=100).segmentations
    sr = build_measurement_report(study, findings, segmentations, series_number=110, signer=SIGNER)
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    return segmentations, pydicom.dcmread(path), path


def test_sr_is_valid_apart_from_the_declared_private_scheme(built, dciodvfy):
    _, sr, path = built
    messages = dciodvfy(path)
    assert [m for m in messages if m.startswith("Error")] == []
    assert set(messages) <= {PRIVATE_SCHEME_WARNING}
    scheme = sr.CodingSchemeIdentificationSequence[0]
    assert scheme.CodingSchemeDesignator == "99LSSD"
    assert scheme.CodingSchemeName == "LSS Desktop local codes"


def test_one_group_per_level_with_area_ap_grade_and_level_site(built, findings):
    _, sr, _ = built
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    groups = [_group_summary(g) for g in _groups(sr)]
    assert [g["112039"] for g in groups] == ["L3-L4 dural sac", "L4-L5 dural sac", "L5-S1 dural sac"]
    assert [g["363698007"] for g in groups] == ["243922006", "243923001", "243927000"]  # finding site
    assert all(g["121071"] == "37554007" for g in groups)  # finding: dural sac
    for summary, finding in zip(groups[:2], findings.findings[:2], strict=True):
        assert summary["42798000"] == pytest.approx(finding.dural_sac_area_mm2)
        assert summary["42798000-unit"] == "mm2"
        assert summary["81827009"] == pytest.approx(finding.ap_diameter_mm)
        assert summary["81827009-unit"] == "mm"
    assert [g["SCHIZAS"] for g in groups] == ["SCHIZAS-A", "SCHIZAS-C", "SCHIZAS-B"]
    assert [g["246112005"] for g in groups] == ["255605001", "24484000", "6736007"]
    assert groups[1]["EDITED-MASK"] == "373066001"  # L4-L5 measured on the person-edited mask
    assert groups[0]["EDITED-MASK"] == "373067005"
    assert "42798000" not in groups[2] and "EDITED-MASK" not in groups[2]  # no measurements
    assert groups[0]["111001"] == "lss-tiny-test" and groups[0]["111003"] == "0.0.1"


def test_roi_groups_reference_the_dural_sac_frame_of_the_key_slice(built, findings):
    segmentations, sr, _ = built
    seg_by_uid = {s.SOPInstanceUID: s for s in segmentations}
    for group, finding in zip(_groups(sr)[:2], findings.findings[:2], strict=True):
        (frame_item,) = [i for i in group.ContentSequence if _concept(i) == "121214"]
        reference = frame_item.ReferencedSOPSequence[0]
        assert "ReferencedSegmentNumber" not in reference  # the frame identifies the segment
        seg = seg_by_uid[reference.ReferencedSOPInstanceUID]
        frame = seg.PerFrameFunctionalGroupsSequence[int(reference.ReferencedFrameNumber) - 1]
        segment_number = frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber
        label = next(s.SegmentLabel for s in seg.SegmentSequence if s.SegmentNumber == segment_number)
        assert label == "dural sac"
        source = frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        assert source == finding.key_slice_sop_instance_uid
        (source_item,) = [i for i in group.ContentSequence if _concept(i) == "121233"]
        assert source_item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source
        assert "ReferencedFrameNumber" not in source_item.ReferencedSOPSequence[0]


def test_evidence_lists_the_segs_and_key_slices(built, findings):
    segmentations, sr, _ = built
    evidence = {
        instance.ReferencedSOPInstanceUID
        for series in sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
        for instance in series.ReferencedSOPSequence
    }
    keys = {f.key_slice_sop_instance_uid for f in findings.findings if f.key_slice_sop_instance_uid}
    assert evidence == keys | {s.SOPInstanceUID for s in segmentations}


def test_signed_report_names_device_and_signer_and_is_verified(built):
    _, sr, _ = built
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == ("COMPLETE", "VERIFIED", "FINAL")
    verifier = sr.VerifyingObserverSequence[0]
    assert str(verifier.VerifyingObserverName) == "Reader^Rosa"
    assert verifier.VerifyingOrganization == "General Hospital"
    assert verifier.VerificationDateTime.startswith("20240316093000")
    root = list(sr.ContentSequence)
    assert any(i.ValueType == "PNAME" and str(i.PersonName) == "Reader^Rosa" for i in root)
    device_model = next(i.TextValue for i in root if _concept(i) == "121015")
    assert device_model == "lss-tiny-test 0.0.1"
    assert next(i.TextValue for i in root if _concept(i) == "121013") == "LSS Desktop"


def test_unsigned_report_is_partial_unverified_without_person_observer(study, findings):
    segmentations = build_segmentations(study, findings.masks, first_series_number=100).segmentations
    sr = build_measurement_report(study, findings, segmentations, series_number=110)
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("PARTIAL", "UNVERIFIED")
    assert not any(i.ValueType == "PNAME" for i in _items(sr.ContentSequence))


def test_key_slice_without_a_seg_frame_is_referenced_as_source_image(study, findings, tmp_path, dciodvfy):
    sr = build_measurement_report(study, findings, [], series_number=110)
    path = tmp_path / "no-seg.dcm"
    sr.save_as(path, enforce_file_format=True)
    assert set(dciodvfy(path)) <= {PRIVATE_SCHEME_WARNING}
    group = _groups(pydicom.dcmread(path))[1]
    (source,) = [i for i in group.ContentSequence if _concept(i) == "121112"]  # Source of Measurement
    assert (
        source.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        == findings.findings[1].key_slice_sop_instance_uid
    )


def test_highdicom_reads_the_report_back(built):
    _, _, path = built
    report = hd.sr.srread(path)
    groups = report.content.get_planar_roi_measurement_groups()
    assert len(groups) == 2
    assert {str(m.name.meaning) for m in groups[0].get_measurements()} == {"Area", "Diameter"}


def test_an_unknown_level_label_is_exported_without_finding_site(study, findings):
    odd = dataclasses.replace(findings.findings[2], level="T12-L1")
    renamed = dataclasses.replace(findings, findings=(*findings.findings[:2], odd))
    sr = build_measurement_report(study, renamed, [], series_number=110)
    summaries = [_group_summary(g) for g in _groups(sr)]
    assert summaries[2]["112039"] == "T12-L1 dural sac"
    assert "363698007" not in summaries[2]


def test_key_slice_on_a_multiframe_image_references_its_frame(synthetic_study, tmp_path, dciodvfy):
    study = synthetic_study.write_multiframe_study(tmp_path / "mf")
    (series,) = study.series
    key = series.slices[1]
    mask = SliceMask(
        structure=Structure.DURAL_SAC,
        series_instance_uid=series.series_instance_uid,
        sop_instance_uid=key.sop_instance_uid,
        frame_index=key.frame_index,
        mask=synthetic_study.disc_mask((32, 36), 7),
        provenance=synthetic_study.PROVENANCE,
    )
    base = synthetic_study.make_findings(synthetic_study.write_study(tmp_path / "other")).findings[1]
    finding = dataclasses.replace(
        base,
        axial_series_uid=series.series_instance_uid,
        key_slice_sop_instance_uid=key.sop_instance_uid,
        key_slice_frame_index=key.frame_index,
    )
    findings = StudyFindings(study.study_instance_uid, (), (finding,), masks=(mask,))
    segmentations = build_segmentations(study, findings.masks, first_series_number=100).segmentations

    sr = build_measurement_report(study, findings, segmentations, series_number=110)
    path = tmp_path / "mf-sr.dcm"
    sr.save_as(path, enforce_file_format=True)

    assert set(dciodvfy(path)) <= {PRIVATE_SCHEME_WARNING}
    (group,) = _groups(pydicom.dcmread(path))
    (source,) = [i for i in group.ContentSequence if _concept(i) == "121233"]
    assert source.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == key.sop_instance_uid
    assert int(source.ReferencedSOPSequence[0].ReferencedFrameNumber) == key.frame_index + 1


def test_a_free_text_signer_name_is_one_deliberate_pn_component():
    from datetime import datetime

    from engine.export.signer import ReportSigner

    signed = datetime(2024, 3, 16, 9, 30)
    assert ReportSigner("Dr Ada Lovelace", "General Hospital", signed).dicom_name == "Dr Ada Lovelace^"
    assert ReportSigner("Lovelace^Ada", "General Hospital", signed).dicom_name == "Lovelace^Ada"

"""DICOM SEG of the masks: valid per dciodvfy, coded segments, right algorithm type, pixels round-trip."""

from __future__ import annotations

import dataclasses

import highdicom as hd
import numpy as np
import pydicom

from engine.export.dicom_seg import build_segmentations, find_segmentation_frame
from engine.findings import SliceMask, Structure
from engine.study.model import Orientation


def _saved(segmentation, tmp_path, name):
    path = tmp_path / name
    segmentation.save_as(path, enforce_file_format=True)
    return path


def test_one_valid_seg_per_series_with_coded_segments(study, findings, tmp_path, dciodvfy):
    built = build_segmentations(study, findings.masks, first_series_number=100)

    assert built.warnings == ()
    assert len(built.segmentations) == 2
    axial = study.find_series(Orientation.AXIAL)[0]
    by_source = {seg.ReferencedSeriesSequence[0].SeriesInstanceUID: seg for seg in built.segmentations}
    axial_seg = by_source[axial.series_instance_uid]
    segments = {s.SegmentLabel: s for s in axial_seg.SegmentSequence}
    assert list(segments) == ["spinal canal", "dural sac", "posterior epidural fat"]
    dural = segments["dural sac"]
    assert dural.SegmentedPropertyTypeCodeSequence[0].CodeValue == "37554007"
    assert dural.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator == "SCT"
    assert dural.SegmentedPropertyCategoryCodeSequence[0].CodeValue == "91723000"
    assert segments["spinal canal"].SegmentedPropertyTypeCodeSequence[0].CodeValue == "61853006"
    fat = segments["posterior epidural fat"]
    assert fat.SegmentedPropertyCategoryCodeSequence[0].CodeValue == "85756007"
    assert fat.AnatomicRegionSequence[0].CodeValue == "61853006"
    # The L4-L5 dural sac mask was edited by a person: the segment is model output, then edited.
    assert dural.SegmentAlgorithmType == "SEMIAUTOMATIC"
    assert segments["spinal canal"].SegmentAlgorithmType == "AUTOMATIC"
    algorithm = dural.SegmentationAlgorithmIdentificationSequence[0]
    assert algorithm.AlgorithmName == "lss-tiny-test"
    assert algorithm.AlgorithmVersion == "0.0.1"
    assert "weights_sha256" in algorithm.AlgorithmParameters
    sagittal_seg = by_source[study.find_series(Orientation.SAGITTAL)[0].series_instance_uid]
    sagittal_types = {
        s.SegmentLabel: s.SegmentedPropertyTypeCodeSequence[0].CodeValue for s in sagittal_seg.SegmentSequence
    }
    assert sagittal_types == {"vertebra": "51282000", "intervertebral disc": "360499006"}
    assert {int(s.SeriesNumber) for s in built.segmentations} == {100, 101}

    for i, segmentation in enumerate(built.segmentations):
        path = _saved(segmentation, tmp_path, f"seg{i}.dcm")
        assert dciodvfy(path) == []  # neither errors nor warnings


def test_masks_round_trip_through_the_saved_file(study, findings, tmp_path):
    built = build_segmentations(study, findings.masks, first_series_number=100)
    axial = study.find_series(Orientation.AXIAL)[0]
    seg_ds = next(
        s
        for s in built.segmentations
        if s.ReferencedSeriesSequence[0].SeriesInstanceUID == axial.series_instance_uid
    )
    seg = hd.seg.segread(_saved(seg_ds, tmp_path, "axial.dcm"))
    for mask in findings.masks:
        if mask.series_instance_uid != axial.series_instance_uid:
            continue
        number = next(s.SegmentNumber for s in seg.SegmentSequence if s.SegmentLabel == mask.structure)
        pixels = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[mask.sop_instance_uid], segment_numbers=[number]
        )
        np.testing.assert_array_equal(pixels[0, :, :, 0].astype(bool), mask.mask)


def test_masks_without_provenance_are_manual_and_bad_masks_are_left_out_with_a_warning(study, findings):
    axial = study.find_series(Orientation.AXIAL)[0]
    manual = [
        dataclasses.replace(m, provenance=None, edited_by_person=True)
        for m in findings.masks
        if m.series_instance_uid == axial.series_instance_uid and m.structure == Structure.DURAL_SAC
    ]
    wrong_shape = dataclasses.replace(manual[0], structure="vertebra", mask=np.ones((10, 10), bool))
    unknown = dataclasses.replace(manual[0], sop_instance_uid="1.2.3.4")
    empty = dataclasses.replace(manual[0], structure="spinal canal", mask=np.zeros((64, 64), bool))

    built = build_segmentations(study, [*manual, wrong_shape, unknown, empty], first_series_number=7)

    assert len(built.segmentations) == 1
    (segment,) = built.segmentations[0].SegmentSequence
    assert segment.SegmentLabel == "dural sac"
    assert segment.SegmentAlgorithmType == "MANUAL"
    assert "SegmentationAlgorithmIdentificationSequence" not in segment
    assert len(built.warnings) == 2
    assert "mask shape (10, 10)" in built.warnings[0]
    assert "1.2.3.4" in built.warnings[1] and "not part of the study" in built.warnings[1]


def test_an_angled_axial_stack_gives_one_seg_per_orientation(synthetic_study, tmp_path, dciodvfy):
    study = synthetic_study.write_study(tmp_path / "angled", angled=True)
    findings = synthetic_study.make_findings(study)
    axial = study.find_series(Orientation.AXIAL)[0]
    axial_masks = [m for m in findings.masks if m.series_instance_uid == axial.series_instance_uid]

    built = build_segmentations(study, axial_masks, first_series_number=100)

    assert built.warnings == ()
    assert len(built.segmentations) == 2
    orientations = sorted(
        tuple(s.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient)
        for s in built.segmentations
    )
    assert orientations[0] != orientations[1]
    tilted_uid = axial.slices[2].sop_instance_uid
    frame = find_segmentation_frame(built.segmentations, tilted_uid, Structure.DURAL_SAC)
    assert frame is not None
    assert frame.segmentation.NumberOfFrames == 1
    for i, segmentation in enumerate(built.segmentations):
        assert dciodvfy(_saved(segmentation, tmp_path, f"angled{i}.dcm")) == []


def test_masks_on_a_multiframe_image_reference_its_frames(synthetic_study, tmp_path, dciodvfy):
    study = synthetic_study.write_multiframe_study(tmp_path / "mf")
    (series,) = study.series
    masks = [
        SliceMask(
            structure=Structure.DURAL_SAC,
            series_instance_uid=series.series_instance_uid,
            sop_instance_uid=image.sop_instance_uid,
            frame_index=image.frame_index,
            mask=synthetic_study.disc_mask((32, 36), 4 + i),
            provenance=synthetic_study.PROVENANCE,
        )
        for i, image in enumerate(series.slices)
    ]

    built = build_segmentations(study, masks, first_series_number=100)

    assert built.warnings == ()
    (segmentation,) = built.segmentations
    assert dciodvfy(_saved(segmentation, tmp_path, "mf-seg.dcm")) == []
    reread = hd.seg.segread(tmp_path / "mf-seg.dcm")
    for i, image in enumerate(series.slices):
        frame = find_segmentation_frame(
            [segmentation], image.sop_instance_uid, Structure.DURAL_SAC, image.frame_index
        )
        assert frame is not None and frame.source_frame_number == image.frame_index + 1
        pixels = reread.get_stored_frame(frame.frame_number)
        assert int(pixels.sum()) == int(masks[i].mask.sum())


def test_no_masks_no_seg(study):
    built = build_segmentations(study, [], first_series_number=1)
    assert built.segmentations == () and built.warnings == ()


def test_saved_seg_keeps_patient_and_study_of_the_source(study, findings, tmp_path):
    built = build_segmentations(study, findings.masks, first_series_number=100)
    ds = pydicom.dcmread(_saved(built.segmentations[0], tmp_path, "s.dcm"))
    assert ds.StudyInstanceUID == study.study_instance_uid
    assert ds.PatientID == study.patient.patient_id
    assert ds.Modality == "SEG"
    assert ds.SeriesDescription == "LSS Desktop segmentation"

"""Relabelling by dropping a level label on a disc (engine.levels.label_drop), and the relabelling
run in the worker process (engine.worker.RelabelRequest): the findings follow their discs and the
levels the model reads by name are graded again."""

from __future__ import annotations

import pytest
from app3_oracle import ORACLE

from engine.findings import DISC_LEVELS, DiscLevel
from engine.levels import DISC_LABEL_SEQUENCE, LevelLabelError, relabelling_for_dropped_label
from engine.levels.label_drop import drop_distance_mm
from engine.worker import AnalysisRequest, AnalysisWorker, RelabelRequest


def disc(label: str, z: float, x: float = 0.0) -> DiscLevel:
    return DiscLevel(label, (x, 0.0, z), (0.0, 0.0, 1.0), 0.9, "1.2.3", "1.2.3.4")


DISCS = [
    disc(label, z) for label, z in zip(("T12-L1", *DISC_LEVELS), (120.0, 80, 40, 0, -40, -80), strict=True)
]


def test_the_label_sequence_runs_from_the_neck_to_the_sacrum():
    assert DISC_LABEL_SEQUENCE[0] == "C1-C2"
    assert DISC_LABEL_SEQUENCE[DISC_LABEL_SEQUENCE.index("T12-L1") + 1 :][:6] == (*DISC_LEVELS, "S1-S2")


def test_a_label_dropped_on_its_own_disc_changes_nothing():
    assert relabelling_for_dropped_label(DISCS, "L3-L4", (0.0, 3.0, 6.0)) == {}


def test_dropping_l5_s1_on_the_disc_above_counts_every_disc_again():
    mapping = relabelling_for_dropped_label(DISCS, "L5-S1", (0.0, 2.0, -37.0))
    assert mapping == {
        "T12-L1": "L1-L2",
        "L1-L2": "L2-L3",
        "L2-L3": "L3-L4",
        "L3-L4": "L4-L5",
        "L4-L5": "L5-S1",
        "L5-S1": "S1-S2",
    }


def test_dropping_a_label_one_disc_down_shifts_the_count_the_other_way():
    mapping = relabelling_for_dropped_label(DISCS, "L4-L5", (0.0, 0.0, -78.0))
    assert mapping["L5-S1"] == "L4-L5" and mapping["L1-L2"] == "T12-L1" and mapping["T12-L1"] == "T11-T12"


def test_distances_are_measured_in_the_slice_plane():
    # The drop lies 30 mm to the side of the disc centres, on a sagittal slice (normal along x).
    assert relabelling_for_dropped_label(DISCS, "L5-S1", (30.0, 0.0, -40.0), plane_normal_lps=(1.0, 0, 0))
    with pytest.raises(LevelLabelError, match="30 mm from the nearest disc"):
        relabelling_for_dropped_label(DISCS, "L5-S1", (30.0, 0.0, -40.0))


def test_a_drop_between_discs_is_refused_with_the_distance_it_needs():
    assert drop_distance_mm(DISCS) == pytest.approx(14.0)
    with pytest.raises(LevelLabelError, match=r"drop it on a disc's centre \(within 14 mm\)"):
        relabelling_for_dropped_label(DISCS, "L4-L5", (0.0, 0.0, -58.0))


def test_unknown_labels_and_counts_past_the_spine_are_refused():
    with pytest.raises(LevelLabelError, match="no disc is labelled L6-S1"):
        relabelling_for_dropped_label(DISCS, "L6-S1", (0.0, 0.0, 0.0))
    top = [disc("C1-C2", 0.0), disc("C2-C3", -30.0)]
    with pytest.raises(LevelLabelError, match="runs past"):
        relabelling_for_dropped_label(top, "C1-C2", (0.0, 0.0, -30.0))


def test_the_worker_relabels_and_grades_the_renamed_levels_again(synthetic_study):
    out, truth = synthetic_study
    with AnalysisWorker(
        AnalysisRequest(str(out / "study"), model=str(out), segmenter_factory=ORACLE)
    ) as worker:
        worker.start()
        findings = worker.wait(timeout=120)
    before = {f.level: f for f in findings.findings}
    mapping = relabelling_for_dropped_label(
        (*findings.levels, *findings.other_discs),
        "L5-S1",
        next(d.centre_lps for d in findings.levels if d.label == "L4-L5"),
    )
    request = RelabelRequest(
        str(out / "study"), tuple(mapping.items()), model=str(out), segmenter_factory=ORACLE
    )
    with pytest.raises(ValueError, match="needs the findings"):
        AnalysisWorker(request)
    events = []
    with AnalysisWorker(request, findings) as worker:
        worker.start()
        relabelled = worker.wait(timeout=120, on_progress=events.append)
    assert events[0].stage == "relabelling"
    after = {f.level: f for f in relabelled.findings}
    # The disc that was L4-L5 is now L5-S1: its dural sac is the same, its grade is read again
    # with "dural sac at L5-S1" (the oracle answers with L5-S1's true grade).
    assert after["L5-S1"].dural_sac_area_mm2 == pytest.approx(before["L4-L5"].dural_sac_area_mm2)
    assert after["L5-S1"].grade == truth.levels[4].grade
    assert after["L4-L5"].grade == truth.levels[3].grade
    assert after["L4-L5"].dural_sac_area_mm2 == pytest.approx(before["L3-L4"].dural_sac_area_mm2)
    assert all(d.label_overridden for d in relabelled.levels if d.label in mapping.values())
    assert any("level labels changed by a person" in w for w in relabelled.warnings)

"""The ablation's tables: seed-averaged case scores with bootstrap CIs over studies, paired
differences to PID-Tversky, and the controller traces plot, from runs written in the trainer's
formats (no training here)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from engine.evaluation import SegmentationCase
from training.ablation.arms import ARMS, Schedule, run_name, training_config
from training.ablation.report import write_ablation_report
from training.ablation.study_sets import balanced_test_grades

DICE = {"dice": 0.90, "pid_tversky": 0.85}


def _write_run(root, arm, seed):
    run = root / "runs" / run_name(arm, seed)
    run.mkdir(parents=True)
    cases = []
    for study in range(6):
        for grade in "ABCD":
            dice = DICE[arm] - (0.1 if grade in "CD" else 0.0) + 0.01 * seed
            cases.append(
                SegmentationCase(
                    f"s{study}-{grade}", f"s{study}", "dural sac", grade, dice, dice / (2 - dice)
                )
            )
        cases.append(
            SegmentationCase(f"s{study}-fat", f"s{study}", "posterior epidural fat", None, 0.5, 0.33)
        )
    # Minority grades under-segmented (FN 40 of 100), grade A over-segmented (FP 20).
    counts = {"A": (100, 20, 0), "B": (90, 5, 10), "C": (60, 0, 40), "D": (60, 0, 40), None: (10, 10, 10)}
    rows = [{**asdict(c), **dict(zip(("tp", "fp", "fn"), counts[c.grade], strict=True))} for c in cases]
    (run / "test_scores.json").write_text(json.dumps(rows))
    controller = {
        "alpha": {"dural sac": 0.4},
        "beta": {"dural sac": 0.6},
        "error": {"dural sac": 0.1},
        "weights": {},
    }
    epochs = [
        {
            "event": "epoch",
            "epoch": e,
            "validation": {"dice": {"dural sac": 0.8}},
            "controller": controller if arm == "pid_tversky" else None,
        }
        for e in (1, 2)
    ]
    (run / "history.jsonl").write_text("\n".join(json.dumps(e) for e in epochs))


def test_report_tables_differences_and_traces(tmp_path):
    for arm in DICE:
        for seed in (0, 1, 2):
            _write_run(tmp_path, arm, seed)
    path = write_ablation_report(tmp_path, Schedule(), 40, 24)
    result = json.loads(path.read_text())
    sac = result["table"]["dural sac, grades C+D"]["dice"]["dice"]
    assert sac["estimate"] == pytest.approx(0.81) and sac["cases"] == 12 and sac["clusters"] == 6
    assert sac["per_seed"] == pytest.approx([0.80, 0.81, 0.82])
    difference = result["differences"]["dural sac, all graded slices"]["dice"]
    assert difference["estimate"] == pytest.approx(-0.05) and difference["high"] < 0
    rates = result["error_rates"]["pid_tversky"]
    assert rates["C"] == pytest.approx({"fnr": 0.4, "fdr": 0.0}) and rates["A"]["fdr"] == pytest.approx(
        20 / 120
    )
    markdown = (tmp_path / "ablation.md").read_text()
    assert "| C | 0.400 / 0.000 | 0.400 / 0.000 |" in markdown
    assert "| dural sac, grade D (minority) | 6 |" in markdown and "minus dice" in markdown
    assert (tmp_path / "plots" / "controller_pid_tversky.png").is_file()
    assert (tmp_path / "plots" / "validation_dural_sac.png").is_file()


def test_arms_share_everything_but_the_loss(tmp_path):
    configs = [
        training_config(ARMS[a], 1, tmp_path / "train", tmp_path / a, tmp_path / "tok.json", Schedule())
        for a in ("cross_entropy", "pid_tversky")
    ]
    differing = {k for k in configs[0] if configs[0][k] != configs[1][k]}
    assert differing == {"output_dir", "loss", "loss_options"}
    assert configs[0]["data"]["balance_grades"] is False and configs[0]["data"]["planes"] == ["axial"]


def test_test_set_grades_are_balanced():
    grades = "".join(balanced_test_grades(24, seed=1)).replace(",", "")
    assert len(grades) == 120 and {g: grades.count(g) for g in "ABCD"} == {g: 30 for g in "ABCD"}

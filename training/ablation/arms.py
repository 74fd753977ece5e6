"""The ablation's arms (one loss each) and the training config they share.

Everything but the segmentation loss is identical across arms: data, split, architecture,
optimiser, schedule, augmentation, grade and grounding terms, and the seeds. The natural grade
imbalance is kept (balance_grades off), so the loss is the only counter-measure to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The controller's defaults (method.md, tuned values recorded in training/ABLATION.md).
PID_OPTIONS: dict[str, Any] = {
    "count_mode": "hard",
    "warmup_epochs": 3,
    "beta_0": 0.5,
    "kp": 0.5,
    "ki": 0.1,
    "kd": 0.05,
    "integral_limit": 2.0,
    "beta_range": [0.3, 0.9],
    "smooth": 1.0,
    "gamma": 1.0,
}


@dataclass(frozen=True)
class Arm:
    """One loss of the comparison: its name in the tables, the training loss and its options."""

    name: str
    loss: str
    options: dict[str, Any]
    description: str


ARMS: dict[str, Arm] = {
    arm.name: arm
    for arm in (
        Arm("cross_entropy", "cross_entropy", {}, "pixel-wise binary cross-entropy"),
        Arm("dice", "dice", {"smooth": 1.0}, "soft Dice (alpha = beta = 0.5)"),
        Arm(
            "tversky",
            "tversky",
            {"alpha": 0.3, "beta": 0.7, "smooth": 1.0},
            "static Tversky, alpha 0.3 / beta 0.7 (Salehi et al.)",
        ),
        Arm(
            "tversky_fp",
            "tversky",
            {"alpha": 0.7, "beta": 0.3, "smooth": 1.0},
            "static Tversky, alpha 0.7 / beta 0.3 (where the controller sat for most epochs)",
        ),
        Arm("pid_tversky", "pid_tversky", dict(PID_OPTIONS), "Adaptive PID-Tversky, hard counts (default)"),
        Arm(
            "pid_tversky_soft",
            "pid_tversky",
            {**PID_OPTIONS, "count_mode": "soft"},
            "Adaptive PID-Tversky, soft counts (the earlier default)",
        ),
    )
}
MAIN_ARMS: tuple[str, ...] = ("cross_entropy", "dice", "tversky", "pid_tversky")

# A small ViT (64 x 64 input, axial 1 mm/px: a 64 mm field of view around the canal) that trains in
# minutes on two CPU cores; the same for every arm.
ABLATION_MODEL = "lss-vit-tiny"
ABLATION_MODEL_OVERRIDES: dict[str, Any] = {
    "vision": {"width": 96, "depth": 2, "heads": 3},
    "preprocessing": {"axial": {"target_spacing_mm": 1.0}},
}


@dataclass(frozen=True)
class Schedule:
    """Training length: epochs x samples_per_epoch draws at batch_size (the controller acts per epoch)."""

    epochs: int = 30
    samples_per_epoch: int = 480
    batch_size: int = 16
    learning_rate: float = 1e-3


def run_name(arm: str, seed: int) -> str:
    return f"{arm}-seed{seed}"


def training_config(
    arm: Arm, seed: int, train_root: Path, output_dir: Path, tokenizer_file: Path, schedule: Schedule
) -> dict[str, Any]:
    """The TrainConfig mapping of one (arm, seed) run."""
    return {
        "output_dir": str(output_dir),
        "model": ABLATION_MODEL,
        "model_overrides": ABLATION_MODEL_OVERRIDES,
        "tokenizer_file": str(tokenizer_file),
        "loss": arm.loss,
        "loss_options": arm.options,
        "grade_loss_weight": 0.5,
        "explanation_loss_weight": 0.1,
        "epochs": schedule.epochs,
        "batch_size": schedule.batch_size,
        "learning_rate": schedule.learning_rate,
        "min_learning_rate": 1e-5,
        "warmup_steps": 50,
        "seed": seed,
        "device": "cpu",
        "amp": False,
        "early_stopping_patience": 0,
        "log_every_steps": 100,
        "data": {
            "synthetic_roots": [str(train_root)],
            "planes": ["axial"],
            "held_out_fraction": 0.15,
            "split_seed": 0,
            "samples_per_epoch": schedule.samples_per_epoch,
            "balance_grades": False,
            "cache_slices": 100_000,
            "num_workers": 0,
        },
    }

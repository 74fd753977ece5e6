"""A training run's history.jsonl (one JSON object per line, written by training.trainer) read into
per-epoch records: training loss, validation metrics and the PID-Tversky controller state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch (1-based).

    train_loss: mean total loss of the epoch's steps (None in histories written before it was logged);
    validation: {"dice": {structure: value}, "mean_dice", "grade_accuracy", ...} (empty without a
    validation split); controller: {"alpha"|"beta"|"error"|"weights": {structure: value}} for the
    PID-Tversky loss, None for other losses.
    """

    epoch: int
    train_loss: float | None
    validation: dict[str, Any] = field(default_factory=dict)
    selection_metric: float | None = None
    controller: dict[str, dict[str, float]] | None = None


def read_training_history(path: Path) -> tuple[EpochRecord, ...]:
    """Epoch records of a history.jsonl (or a run folder holding one), ordered by epoch.

    After a resume an epoch may be logged twice: the later line wins. Raises ValueError naming the
    file and line of a line that is not JSON.
    """
    file = path / "history.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no training history at {file}")
    records: dict[int, EpochRecord] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{file}:{number}: not a JSON line ({exc})") from exc
        if not isinstance(event, dict) or event.get("event") != "epoch":
            continue
        epoch = int(event["epoch"])
        records[epoch] = EpochRecord(
            epoch=epoch,
            train_loss=event.get("train_loss"),
            validation=dict(event.get("validation") or {}),
            selection_metric=event.get("selection_metric"),
            controller=event.get("controller"),
        )
    return tuple(records[e] for e in sorted(records))


def controlled_classes(history: tuple[EpochRecord, ...]) -> list[str]:
    """Classes whose controller moved at least once (beta left its start value or an error was
    measured); classes never seen in training (e.g. sagittal structures in an axial run) are left out."""
    seen: list[str] = []
    for record in history:
        if not record.controller:
            continue
        for name, value in record.controller.get("error", {}).items():
            if value != 0.0 and name not in seen:
                seen.append(name)
    return seen

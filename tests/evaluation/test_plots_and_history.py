"""Training histories (resumes, controller state) and the PNG plots made from results."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from engine.evaluation import classification_metrics
from engine.evaluation.history import controlled_classes, read_training_history
from engine.evaluation.plots import (
    plot_confusion_matrix,
    plot_controller_traces,
    plot_roc_curves,
    plot_training_curves,
)


def _epoch(epoch: int, beta: float, loss: float | None = 0.5) -> dict:
    return {
        "event": "epoch",
        "epoch": epoch,
        "train_loss": loss,
        "validation": {"dice": {"dural sac": 0.5 + 0.1 * epoch}, "grade_accuracy": 0.4},
        "selection_metric": 0.5,
        "controller": {
            "alpha": {"dural sac": 1 - beta, "vertebra": 0.5},
            "beta": {"dural sac": beta, "vertebra": 0.5},
            "error": {"dural sac": beta - 0.5, "vertebra": 0.0},
            "weights": {"dural sac": 0.5, "vertebra": 0.5},
        },
    }


@pytest.fixture
def history_file(tmp_path):
    lines = [
        {"event": "started"},
        _epoch(1, 0.5),
        _epoch(2, 0.4),
        {"event": "resumed"},
        _epoch(2, 0.45),
        _epoch(3, 0.6),
    ]
    path = tmp_path / "run" / "history.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def test_history_keeps_the_last_record_of_each_epoch(history_file):
    history = read_training_history(history_file.parent)
    assert [(r.epoch, r.controller["beta"]["dural sac"]) for r in history] == [(1, 0.5), (2, 0.45), (3, 0.6)]
    assert controlled_classes(history) == ["dural sac"]  # the vertebra never moved: no axial sample of it
    history_file.write_text("{not json\n")
    with pytest.raises(ValueError, match=r"history\.jsonl:1"):
        read_training_history(history_file)


def _image(path):
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 200
    return image


def test_plots_are_written_as_png(tmp_path, history_file):
    history = read_training_history(history_file)
    wide = _image(plot_training_curves(history, tmp_path / "curves.png", "run"))
    no_controller = [type(r)(r.epoch, None, r.validation, r.selection_metric, None) for r in history]
    narrow = _image(plot_training_curves(no_controller, tmp_path / "plain.png"))
    assert wide.shape[1] > 2 * narrow.shape[1]  # three panels with the controller, one without
    _image(plot_controller_traces({"seed 0": history, "seed 1": history}, tmp_path / "traces.png"))
    metrics = classification_metrics(
        list("AABBCD"), list("ABBBCA"), "ABCD", np.eye(4)[[0, 1, 1, 1, 2, 0]] * 0.7 + 0.075
    )
    _image(plot_confusion_matrix(metrics.confusion, metrics.labels, tmp_path / "confusion.png"))
    _image(plot_roc_curves(metrics.roc, tmp_path / "roc.png"))
    with pytest.raises(ValueError, match="no epoch"):
        plot_training_curves([], tmp_path / "empty.png")

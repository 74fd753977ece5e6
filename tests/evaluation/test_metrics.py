"""Metric functions against hand-computed values: Dice/IoU, bootstrap CI, confusion matrix,
precision/recall/F1, ROC AUC, McNemar's test."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from engine.evaluation import (
    AreaCase,
    SegmentationCase,
    bootstrap_mean_ci,
    classification_metrics,
    confusion_matrix,
    dice_and_iou,
    mcnemar_test,
    roc_auc,
    summarise_area_errors,
    summarise_segmentation,
)
from engine.evaluation.roc import one_vs_rest_roc


def test_dice_and_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True  # 4 pixels
    b[:2, :3] = True  # 6 pixels, 4 shared
    assert dice_and_iou(a, b) == pytest.approx((0.8, 4 / 6))
    assert dice_and_iou(a & False, b & False) == (1.0, 1.0)
    assert dice_and_iou(a, b & False) == (0.0, 0.0)
    with pytest.raises(ValueError, match="shape"):
        dice_and_iou(a, b[:3])


def test_bootstrap_interval_brackets_the_mean_and_clusters_widen_it():
    rng = np.random.default_rng(0)
    values = rng.normal(0.8, 0.05, 200)
    ci = bootstrap_mean_ci(values, resamples=1000)
    assert ci.low < ci.estimate < ci.high and ci.estimate == pytest.approx(values.mean())
    clusters = [str(i // 20) for i in range(200)]
    shifted = values + np.repeat(rng.normal(0, 0.05, 10), 20)  # values within a cluster correlate
    wide = bootstrap_mean_ci(shifted, clusters, resamples=1000)
    narrow = bootstrap_mean_ci(shifted, resamples=1000)
    assert wide.clusters == 10 and (wide.high - wide.low) > 1.5 * (narrow.high - narrow.low)
    assert bootstrap_mean_ci([0.5] * 5).text() == "0.500 [0.500, 0.500]"
    with pytest.raises(ValueError):
        bootstrap_mean_ci([])
    with pytest.raises(ValueError):
        bootstrap_mean_ci([1.0, float("nan")])


def test_confusion_and_per_class_metrics():
    truth = list("AAAABBCD")
    predicted = list("AABABCCA")
    assert confusion_matrix(truth, predicted, "ABCD") == (
        (3, 1, 0, 0),
        (0, 1, 1, 0),
        (0, 0, 1, 0),
        (1, 0, 0, 0),
    )
    m = classification_metrics(truth, predicted, "ABCD")
    assert m.accuracy == pytest.approx(5 / 8)
    a, b, c, d = m.per_class
    assert (a.precision, a.recall) == pytest.approx((3 / 4, 3 / 4))
    assert (b.precision, b.recall, b.f1) == pytest.approx((1 / 2, 1 / 2, 1 / 2))
    assert (c.precision, c.recall) == pytest.approx((1 / 2, 1.0))
    assert (d.precision, d.recall, d.f1, d.predicted) == (None, 0.0, 0.0, 0)
    assert m.macro_f1 == pytest.approx(np.mean([0.75, 0.5, 2 / 3, 0.0]))
    with pytest.raises(ValueError, match="'E'"):
        confusion_matrix(["A"], ["E"], "ABCD")


def test_roc_auc_equals_the_pairwise_definition():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(40), 1)  # with ties
    positive = rng.random(40) > 0.6
    pairs = [(p, n) for p, n in itertools.product(scores[positive], scores[~positive])]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert roc_auc(scores, positive) == pytest.approx(expected)
    assert roc_auc([0.1, 0.2], [True, True]) is None
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    curves = one_vs_rest_roc(["A", "B", "A"], probabilities, ["A", "B"])
    assert [c.auc for c in curves] == [1.0, 1.0]
    assert curves[0].false_positive_rate[0] == 0.0 and curves[0].true_positive_rate[-1] == 1.0


def test_mcnemar_exact_and_chi_square():
    truth = ["A"] * 10
    a = ["A"] * 7 + ["B"] * 3
    b = ["A"] * 1 + ["B"] * 6 + ["A"] * 3  # 1 both right, 6 only a right, 3 only b right
    result = mcnemar_test(truth, a, b)
    assert (result.b, result.c, result.both_right, result.both_wrong) == (6, 3, 1, 0)
    assert result.method == "exact binomial"
    assert result.p_value == pytest.approx(2 * sum(math.comb(9, k) for k in range(4)) / 2**9)
    truth = ["A"] * 100
    right_a = ["A"] * 40 + ["B"] * 20 + ["A"] * 40
    right_b = ["B"] * 40 + ["A"] * 20 + ["A"] * 40
    large = mcnemar_test(truth, right_a, right_b)
    assert (large.b, large.c) == (40, 20) and large.method.startswith("chi-square")
    assert large.statistic == pytest.approx(19**2 / 60)
    assert large.p_value == pytest.approx(0.014171, abs=1e-5)
    with pytest.raises(ValueError, match="same length"):
        mcnemar_test(["A"], ["A", "B"], ["A"])


def test_segmentation_and_area_summaries_per_grade():
    cases = [
        SegmentationCase(f"s{i}/{g}", f"s{i}", "dural sac", g, d, d / (2 - d))
        for i in range(6)
        for g, d in (("A", 0.9), ("C", 0.6))
    ]
    summary = summarise_segmentation(cases, resamples=200)["structures"]["dural sac"]
    assert summary["all"]["dice"]["estimate"] == pytest.approx(0.75)
    assert summary["grades"]["C"]["dice"]["estimate"] == pytest.approx(0.6)
    assert summary["all"]["clusters"] == 6
    areas = [AreaCase(f"s{i}", f"s{i}", "B", 90.0 + i, 80.0) for i in range(4)]
    error = summarise_area_errors(areas, resamples=200)
    assert error["all"]["mean_error_mm2"]["estimate"] == pytest.approx(11.5)
    assert error["grades"]["B"]["mean_absolute_relative_error"]["estimate"] == pytest.approx(11.5 / 80)
    assert summarise_area_errors([]) is None

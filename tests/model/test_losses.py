"""Losses: identities between them, and the PID controller on hand-computed values."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from training.losses import (
    AdaptivePIDTverskyLoss,
    CrossEntropyLoss,
    DiceLoss,
    FocalTverskyLoss,
    PIDGains,
    TverskyLoss,
    create_loss,
)


def _binary_batch(tp: int, fp: int, fn: int, size: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities (1, 1, size) in {0, 1} and a target with exactly these counts."""
    p = torch.zeros(1, 1, size)
    g = torch.zeros(1, 1, size)
    p[..., :tp] = 1
    g[..., :tp] = 1
    p[..., tp : tp + fp] = 1
    g[..., tp + fp : tp + fp + fn] = 1
    return p, g


def _feed(loss: AdaptivePIDTverskyLoss, tp: int, fp: int, fn: int, cls: int = 0) -> None:
    p, g = _binary_batch(tp, fp, fn)
    loss(p, g, torch.tensor([cls]))


def _pid(**kwargs) -> AdaptivePIDTverskyLoss:
    return AdaptivePIDTverskyLoss(
        num_classes=kwargs.pop("num_classes", 1), activation="none", **kwargs
    ).train()


def test_tversky_with_half_weights_is_the_soft_dice_loss():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 16, 16)
    labels = torch.randint(0, 4, (3, 1, 16, 16))
    for s in (0.0, 1.0):
        dice = DiceLoss(activation="softmax", smooth=2 * s)(logits, labels)
        assert TverskyLoss(0.5, 0.5, activation="softmax", smooth=s)(logits, labels) == pytest.approx(
            dice.item(), abs=1e-6
        )
    # Prompted binary masks: each sample's counts go to its prompt's class.
    logits1 = torch.randn(5, 1, 8, 8)
    target1 = (torch.rand(5, 1, 8, 8) > 0.6).float()
    classes = torch.tensor([0, 2, 2, 1, 0])
    dice = DiceLoss(num_classes=3, smooth=2.0)(logits1, target1, classes)
    pid = AdaptivePIDTverskyLoss(num_classes=3, smooth=1.0)
    assert pid(logits1, target1, classes).item() == pytest.approx(dice.item(), abs=1e-6)
    manual = []
    for c in range(3):
        p = torch.sigmoid(logits1[classes == c])
        g = target1[classes == c]
        manual.append(1 - (2 * (p * g).sum() + 2) / (p.sum() + g.sum() + 2))
    assert dice.item() == pytest.approx(torch.stack(manual).mean().item(), abs=1e-6)


def test_zero_gains_keep_a_static_tversky_loss():
    torch.manual_seed(1)
    logits = torch.randn(4, 1, 12, 12)
    target = (torch.rand(4, 1, 12, 12) > 0.7).float()
    classes = torch.tensor([0, 1, 0, 1])
    pid = AdaptivePIDTverskyLoss(num_classes=2, beta_0=0.7, kp=0.0, ki=0.0, kd=0.0).train()
    static = TverskyLoss(alpha=0.3, beta=0.7, num_classes=2)
    for _ in range(3):
        assert pid(logits, target, classes).item() == pytest.approx(
            static(logits, target, classes).item(), abs=1e-6
        )
        pid.end_epoch()
    assert pid.beta.tolist() == pytest.approx([0.7, 0.7])


def test_controller_step_response_matches_hand_computation():
    loss = _pid()
    # TP 60, FP 20, FN 40: FNR = 0.4, FDR = 0.25, e = 0.15.
    _feed(loss, 60, 20, 40)
    step = loss.end_epoch()
    # I = 0.15; u = 0.5*0.15 + 0.1*0.15 + 0 (no derivative at the first update) = 0.09.
    assert step.error == pytest.approx([0.15])
    assert step.beta == pytest.approx([0.59]) and step.alpha == pytest.approx([0.41])
    _feed(loss, 60, 20, 40)
    # I = 0.30; u = 0.075 + 0.03 + 0.05*0 = 0.105.
    assert loss.end_epoch().beta == pytest.approx([0.605])
    # TP 80, FP 20, FN 0: e = 0 - 0.2 = -0.2; I = 0.1; d = -0.35; u = -0.1 + 0.01 - 0.0175.
    _feed(loss, 80, 20, 0)
    step = loss.end_epoch()
    assert step.beta == pytest.approx([0.3925])
    assert step.integral == pytest.approx([0.1])
    # Counts are reset after each update, and the controller counted three epochs.
    assert loss.epoch_counts.abs().sum() == 0 and int(loss.epochs_completed) == 3


def test_beta_is_clamped_to_its_range():
    loss = _pid()
    _feed(loss, 10, 0, 90)  # e = 0.9, u = 0.45 + 0.09 = 0.54 -> beta 1.04 -> 0.9
    assert loss.end_epoch().beta == pytest.approx([0.9])
    low = _pid()
    _feed(low, 10, 90, 0)  # e = -0.9 -> beta -0.04 -> 0.3
    assert low.end_epoch().beta == pytest.approx([0.3])


def test_integral_anti_windup():
    loss = _pid(kp=0.0, ki=0.1, kd=0.0, integral_limit=2.0)
    for expected in (0.9, 1.8, 2.0, 2.0, 2.0):
        _feed(loss, 10, 0, 90)
        assert loss.end_epoch().integral == pytest.approx([expected])
    _feed(loss, 10, 90, 0)  # e = -0.9: I = 2 - 0.9 = 1.1 (3.6 without the bound)
    step = loss.end_epoch()
    assert step.integral == pytest.approx([1.1])
    assert step.beta == pytest.approx([0.61])


def test_a_class_without_pixels_keeps_its_state():
    loss = _pid(num_classes=2)
    _feed(loss, 60, 20, 40, cls=1)
    step = loss.end_epoch()
    assert step.updated == [False, True]
    assert step.beta == pytest.approx([0.5, 0.59])


def test_class_weight_pid_follows_the_dice_gap():
    gains = PIDGains(kp=1.0, ki=0.0, kd=0.0, integral_limit=2.0, output_range=(0.1, 10.0))
    loss = _pid(num_classes=2, weight_gains=gains)
    _feed(loss, 80, 20, 20, cls=0)  # Dice 0.8
    _feed(loss, 40, 60, 60, cls=1)  # Dice 0.4; mean 0.6, gaps -0.2 and +0.2
    step = loss.end_epoch()
    assert step.dice == pytest.approx([0.8, 0.4])
    assert loss.weights.tolist() == pytest.approx([0.8, 1.2])
    assert step.weights == pytest.approx([0.4, 0.6])


def test_warmup_epochs_hold_the_controller():
    loss = _pid(warmup_epochs=2)
    for _ in range(2):
        _feed(loss, 10, 0, 90)
        assert loss.end_epoch().beta == pytest.approx([0.5])
    _feed(loss, 60, 20, 40)
    assert loss.end_epoch().beta == pytest.approx([0.59])  # as the first update without warm-up


def test_hard_counts_threshold_the_probabilities():
    loss = AdaptivePIDTverskyLoss(num_classes=1, activation="none", count_mode="hard").train()
    p = torch.tensor([[[0.9, 0.6, 0.4, 0.2]]])
    g = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
    loss(p, g, torch.tensor([0]))
    assert loss.epoch_counts[:, 0].tolist() == [1.0, 1.0, 1.0]


def test_hard_counts_match_thresholded_counts_in_both_layouts():
    from training.losses.confusion import confusion_counts

    torch.manual_seed(3)
    logits = torch.randn(3, 4, 10, 10)
    labels = torch.randint(0, 4, (3, 1, 10, 10))
    loss = AdaptivePIDTverskyLoss(num_classes=3, activation="softmax", include_background=False).train()
    loss(logits, labels)
    one_hot = torch.nn.functional.one_hot(labels[:, 0], 4).movedim(-1, 1).float()
    expected = confusion_counts((torch.softmax(logits, 1) > 0.5).float(), one_hot, include_background=False)
    assert loss.epoch_counts.float().tolist() == torch.stack([expected.tp, expected.fp, expected.fn]).tolist()
    prompted = AdaptivePIDTverskyLoss(num_classes=3).train()
    logits1, target1 = torch.randn(4, 1, 6, 6), (torch.rand(4, 1, 6, 6) > 0.5).float()
    classes = torch.tensor([2, 0, 2, 1])
    prompted(logits1, target1, classes)
    expected = confusion_counts((torch.sigmoid(logits1) > 0.5).float(), target1, classes, 3)
    assert (
        prompted.epoch_counts.float().tolist()
        == torch.stack([expected.tp, expected.fp, expected.fn]).tolist()
    )


def test_evaluation_mode_does_not_accumulate_and_gradients_flow():
    loss = AdaptivePIDTverskyLoss(num_classes=1)
    logits = torch.randn(2, 1, 8, 8, requires_grad=True)
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    loss.eval()(logits, target, torch.tensor([0, 0]))
    assert loss.epoch_counts.abs().sum() == 0
    loss.train()(logits, target, torch.tensor([0, 0])).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_controller_state_round_trips_through_state_dict_and_json():
    loss = _pid(num_classes=2)
    _feed(loss, 60, 20, 40, cls=0)
    loss.end_epoch()
    restored = _pid(num_classes=2)
    restored.load_state_dict(loss.state_dict())
    assert restored.beta.tolist() == loss.beta.tolist()
    from_json = _pid(num_classes=2)
    from_json.load_controller_state(json.loads(json.dumps(loss.controller_state())))
    assert from_json.integral.tolist() == loss.integral.tolist()
    assert bool(from_json.has_last_error[0]) and int(from_json.epochs_completed) == 1
    with pytest.raises(ValueError, match="'beta'"):
        from_json.load_controller_state({k: v for k, v in loss.controller_state().items() if k != "beta"})


def test_focal_tversky_and_cross_entropy_definitions():
    torch.manual_seed(2)
    logits = torch.randn(2, 1, 8, 8)
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    plain = TverskyLoss(0.3, 0.7)(logits, target)
    focal = FocalTverskyLoss(0.3, 0.7, gamma=2.0)(logits, target)
    assert focal.item() == pytest.approx(plain.item() ** 0.5, rel=1e-5)
    ce = CrossEntropyLoss()(logits, target)
    assert ce.item() == pytest.approx(F.binary_cross_entropy_with_logits(logits, target).item())


def test_options_are_validated_in_the_constructors():
    with pytest.raises(ValueError, match="beta_0"):
        AdaptivePIDTverskyLoss(num_classes=2, beta_0=0.95)
    with pytest.raises(ValueError, match="beta_range"):
        AdaptivePIDTverskyLoss(num_classes=2, beta_range=(0.9, 0.3))
    with pytest.raises(ValueError, match="class_weights"):
        AdaptivePIDTverskyLoss(num_classes=2, class_weights=[1.0])
    with pytest.raises(ValueError, match="gamma"):
        FocalTverskyLoss(gamma=0)
    with pytest.raises(ValueError, match="include_background"):
        DiceLoss(activation="sigmoid", include_background=False)
    with pytest.raises(ValueError, match="unknown loss"):
        create_loss("hinge", 3)
    with pytest.raises(ValueError, match="controls 2 classes"):
        AdaptivePIDTverskyLoss(num_classes=2)(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    assert isinstance(create_loss("pid_tversky", 3, {"beta_range": [0.3, 0.9]}), AdaptivePIDTverskyLoss)

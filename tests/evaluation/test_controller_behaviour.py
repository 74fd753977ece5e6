"""What the PID-Tversky controller does in a loop (the investigation in training/ABLATION.md): the
sign convention moves beta the right way, and soft counts read low background probabilities as
over-segmentation, driving beta to its floor where hard counts see balanced errors."""

from __future__ import annotations

import pytest
import torch

from training.losses import AdaptivePIDTverskyLoss


def _disc(size: int, radius: float) -> torch.Tensor:
    rr, cc = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (((rr - size / 2) ** 2 + (cc - size / 2) ** 2) < radius**2).float()[None, None]


def test_under_segmentation_raises_beta_and_the_loop_closes_the_gap():
    target = _disc(48, 14)
    logits = (_disc(48, 8) * 4 - 2).requires_grad_(True)  # predicts a disc much smaller than the target
    loss_fn = AdaptivePIDTverskyLoss(1, count_mode="hard")
    optimizer = torch.optim.Adam([logits], lr=0.3)
    betas, errors = [], []
    for _ in range(6):
        for _ in range(3):
            loss = loss_fn(logits, target, torch.zeros(1, dtype=torch.long))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        step = loss_fn.end_epoch()
        betas.append(step.beta[0])
        errors.append(step.error[0])
    assert errors[0] > 0.3 and betas[0] > 0.6  # FNR > FDR: missed pixels weigh more
    assert errors[-1] < errors[0] / 2  # the prediction grew towards the target
    assert max(betas) <= 0.9
    # The integral remembers the early errors: with balanced errors beta stays above 0.5 (Ki * I).
    assert errors[-1] == 0.0 and betas[-1] > 0.6


def test_soft_counts_read_background_probabilities_as_over_segmentation():
    target = _disc(64, 6)  # a small structure: ~110 of 4096 pixels
    # A correct thresholded mask, but background probabilities of 0.05 (logit -2.9) everywhere.
    logits = torch.where(target > 0, torch.tensor(3.0), torch.tensor(-2.94))
    index = torch.zeros(1, dtype=torch.long)
    hard = AdaptivePIDTverskyLoss(1, count_mode="hard")
    soft = AdaptivePIDTverskyLoss(1, count_mode="soft")
    for loss_fn in (hard, soft):
        loss_fn(logits, target, index)
    hard_step, soft_step = hard.end_epoch(), soft.end_epoch()
    assert hard_step.error[0] == 0.0 and hard_step.beta[0] == 0.5
    # Soft FP = 0.05 x ~3990 background pixels ~ 200 > TP ~ 105: FDR ~ 0.65, error ~ -0.6.
    assert soft_step.error[0] < -0.5 and soft_step.beta[0] == pytest.approx(0.3)
    for _ in range(3):
        soft(logits, target, index)
        soft_step = soft.end_epoch()
    assert soft_step.beta[0] == pytest.approx(0.3)  # pinned to beta_min, as in the earlier SPIDER run

"""Adaptive PID-Tversky loss (method.md, "Adaptive PID-Tversky loss (our formulation)").

Per class c, with soft predictions p and targets g over all pixels of the batch:

    TI_c = (TP_c + s) / (TP_c + alpha_c FP_c + beta_c FN_c + s)
    L    = sum_c w_c (1 - TI_c)^(1/gamma)                   (w normalised over present classes)

At the end of each epoch a PID controller per class moves beta_c (and alpha_c = 1 - beta_c) from the
epoch's accumulated counts:

    FNR_c = FN_c / (FN_c + TP_c)        FDR_c = FP_c / (FP_c + TP_c)
    e_c   = FNR_c - FDR_c - e_target
    I_c   = clamp(I_c + e_c, -I_max, I_max)                 (anti-windup)
    u_c   = Kp e_c + Ki I_c + Kd (e_c - e_c(t-1))           (derivative 0 at a class's first update)
    beta_c = clamp(beta_0 + u_c, beta_min, beta_max);  alpha_c = 1 - beta_c

Optionally a second PID moves the class weights from the Dice gap to the mean Dice
(gap_c = mean_k Dice_k - Dice_c, so a lagging class gains weight):

    w_c = clamp(w0_c + Kp_w gap_c + Ki_w J_c + Kd_w (gap_c - gap_c(t-1)), w_min, w_max)

A class with no pixels (TP + FP + FN = 0) in an epoch keeps its state. During the first
`warmup_epochs` epochs the counts are discarded and nothing moves (0 = the formulation as written):
an untrained model's first errors would otherwise saturate the integral for many epochs. The controller state is made
of buffers (so it is in `state_dict()`) and is also available as JSON (`controller_state()`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from training.losses.confusion import (
    Activation,
    ConfusionCounts,
    activate,
    confusion_counts,
    one_hot_target,
    tversky_index,
    validate_activation,
)

_FOCAL_FLOOR = 1e-7
CountMode = Literal["soft", "hard"]


@dataclass(frozen=True)
class PIDGains:
    """Gains and limits of one PID controller.

    kp, ki, kd: proportional, integral and derivative gains.
    integral_limit: I_max, the anti-windup bound of the integral |I| <= I_max.
    output_range: (min, max) clamp of the controlled value (beta_c, or w_c for the weight controller).
    """

    kp: float
    ki: float
    kd: float
    integral_limit: float
    output_range: tuple[float, float]

    def __post_init__(self) -> None:
        if self.integral_limit < 0:
            raise ValueError(f"integral_limit must be >= 0, got {self.integral_limit}")
        low, high = self.output_range
        if low > high:
            raise ValueError(f"output_range must be (min, max) with min <= max, got {self.output_range}")


@dataclass(frozen=True)
class ControllerStep:
    """What one end-of-epoch update did, per class (lists of length K), for logs and plots."""

    epoch: int
    error: list[float]
    integral: list[float]
    alpha: list[float]
    beta: list[float]
    weights: list[float]
    dice: list[float]
    updated: list[bool]


class AdaptivePIDTverskyLoss(nn.Module):
    """Tversky loss whose per-class FP/FN balance is steered by a PID controller between epochs.

    Args:
        num_classes: K, the number of controlled classes (channels, or prompt classes with class_index).
        activation / include_background: as for DiceLoss (include_background=False drops channel 0).
        smooth: s in TI_c.
        gamma: focal exponent, L uses (1 - TI)^(1/gamma); 1 is the plain Tversky loss.
        beta_0: set point of beta before control (0.5: alpha = beta, the Dice loss).
        kp, ki, kd: PID gains on e_c.
        integral_limit: I_max.
        beta_range: (beta_min, beta_max).
        error_target: e_target (0: balanced under- and over-segmentation).
        count_mode: accumulate 'hard' counts (p > 0.5) or 'soft' ones (probabilities) for the controller.
            Hard is the default: the many low background probabilities add up to a soft FP mass that
            reads as over-segmentation and drove beta to beta_min on SPIDER.
        warmup_epochs: epochs at the start during which the controllers do not move.
        class_weights: initial w0_c (K,), default uniform; normalised in the loss.
        weight_gains: gains of the optional class-weight PID (None: weights stay w0).
    Shapes: input logits (B, C, *spatial); target (B, C, *spatial) binary/one-hot or (B, 1, *) labels
    with softmax; class_index (B,) int for single-channel prompted masks.
    """

    beta: torch.Tensor
    integral: torch.Tensor
    last_error: torch.Tensor
    has_last_error: torch.Tensor
    base_weights: torch.Tensor
    weights: torch.Tensor
    weight_integral: torch.Tensor
    weight_last_gap: torch.Tensor
    has_last_gap: torch.Tensor
    epoch_counts: torch.Tensor
    epochs_completed: torch.Tensor

    def __init__(
        self,
        num_classes: int,
        activation: Activation = "sigmoid",
        include_background: bool = True,
        smooth: float = 1.0,
        gamma: float = 1.0,
        beta_0: float = 0.5,
        kp: float = 0.5,
        ki: float = 0.1,
        kd: float = 0.05,
        integral_limit: float = 2.0,
        beta_range: tuple[float, float] = (0.3, 0.9),
        error_target: float = 0.0,
        count_mode: CountMode = "hard",
        class_weights: Sequence[float] | None = None,
        weight_gains: PIDGains | None = None,
        warmup_epochs: int = 0,
    ) -> None:
        super().__init__()
        validate_activation(activation, include_background)
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if smooth < 0:
            raise ValueError(f"smooth must be >= 0, got {smooth}")
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        beta_min, beta_max = beta_range
        if not 0.0 <= beta_min <= beta_max <= 1.0:
            raise ValueError(f"beta_range must satisfy 0 <= min <= max <= 1, got {beta_range}")
        if not beta_min <= beta_0 <= beta_max:
            raise ValueError(f"beta_0 = {beta_0} lies outside beta_range {beta_range}")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
        if count_mode not in ("soft", "hard"):
            raise ValueError(f"count_mode must be 'soft' or 'hard', got {count_mode!r}")
        weights0 = (
            torch.ones(num_classes)
            if class_weights is None
            else torch.tensor(list(class_weights), dtype=torch.float32)
        )
        if weights0.shape != (num_classes,) or bool((weights0 < 0).any()) or float(weights0.sum()) <= 0:
            raise ValueError(f"class_weights must be {num_classes} non-negative numbers with a positive sum")
        self.num_classes = num_classes
        self.activation: Activation = activation
        self.include_background = include_background
        self.smooth = smooth
        self.gamma = gamma
        self.beta_0 = beta_0
        self.gains = PIDGains(kp, ki, kd, integral_limit, (beta_min, beta_max))
        self.error_target = error_target
        self.count_mode: CountMode = count_mode
        self.weight_gains = weight_gains
        self.warmup_epochs = warmup_epochs
        self.register_buffer("beta", torch.full((num_classes,), float(beta_0)))
        self.register_buffer("integral", torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer("last_error", torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer("has_last_error", torch.zeros(num_classes, dtype=torch.bool))
        self.register_buffer("base_weights", weights0.clone())
        self.register_buffer("weights", weights0.clone())
        self.register_buffer("weight_integral", torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer("weight_last_gap", torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer("has_last_gap", torch.zeros(num_classes, dtype=torch.bool))
        self.register_buffer("epoch_counts", torch.zeros(3, num_classes, dtype=torch.float64))
        self.register_buffer("epochs_completed", torch.zeros((), dtype=torch.long))

    @property
    def alpha(self) -> torch.Tensor:
        return 1.0 - self.beta

    def forward(
        self, input: torch.Tensor, target: torch.Tensor, class_index: torch.Tensor | None = None
    ) -> torch.Tensor:
        probabilities = activate(input, self.activation)
        target_1h = one_hot_target(target, input.shape[1], self.activation)
        counts = confusion_counts(
            probabilities, target_1h, class_index, self._index_classes(class_index), self.include_background
        )
        if counts.tp.shape != (self.num_classes,):
            raise ValueError(
                f"the loss controls {self.num_classes} classes but the input has {counts.tp.shape[0]}"
            )
        beta = self.beta.to(counts.tp.dtype)
        per_class = 1 - tversky_index(counts, 1 - beta, beta, self.smooth)
        if self.gamma != 1.0:
            per_class = per_class.clamp_min(_FOCAL_FLOOR) ** (1.0 / self.gamma)
        weights = self.weights.to(per_class.dtype) * counts.present.to(per_class.dtype)
        loss = (weights * per_class).sum() / weights.sum().clamp_min(torch.finfo(per_class.dtype).tiny)
        if self.training:
            self._accumulate(counts, probabilities, target_1h, class_index)
        return loss

    def _index_classes(self, class_index: torch.Tensor | None) -> int | None:
        return self.num_classes if class_index is not None else None

    @torch.no_grad()
    def _accumulate(
        self,
        counts: ConfusionCounts,
        probabilities: torch.Tensor,
        target: torch.Tensor,
        class_index: torch.Tensor | None,
    ) -> None:
        if self.count_mode == "hard":
            counts = self._hard_counts(counts, probabilities, target, class_index)
        self.epoch_counts += torch.stack([counts.tp, counts.fp, counts.fn]).detach().to(self.epoch_counts)

    def _hard_counts(
        self,
        soft: ConfusionCounts,
        probabilities: torch.Tensor,
        target: torch.Tensor,
        class_index: torch.Tensor | None,
    ) -> ConfusionCounts:
        """Counts of the thresholded prediction (p > 0.5); the target total TP + FN is the soft one
        (targets are binary), so only two boolean reductions are added to the step."""
        predicted = probabilities.detach() > 0.5
        if not self.include_background:
            predicted, target = predicted[:, 1:], target[:, 1:]
        tp_bc = (predicted & (target > 0.5)).flatten(2).sum(-1).to(soft.tp.dtype)
        predicted_bc = predicted.flatten(2).sum(-1).to(soft.tp.dtype)
        if class_index is not None:
            zeros = torch.zeros_like(soft.tp)
            tp = zeros.index_add(0, class_index.long(), tp_bc[:, 0])
            predicted_total = zeros.index_add(0, class_index.long(), predicted_bc[:, 0])
        else:
            tp, predicted_total = tp_bc.sum(0), predicted_bc.sum(0)
        return ConfusionCounts(
            tp=tp, fp=predicted_total - tp, fn=soft.tp + soft.fn - tp, present=soft.present
        )

    def reset_epoch_counts(self) -> None:
        """Forget the counts accumulated since the last update (e.g. after a resumed partial epoch)."""
        self.epoch_counts.zero_()

    @torch.no_grad()
    def end_epoch(self, all_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> ControllerStep:
        """Run the controllers on the counts accumulated this epoch, reset them, and report the step.

        all_reduce: sums a (3, K) tensor across processes (DDP) so every rank takes the same step.
        """
        counts = self.epoch_counts.clone()
        if all_reduce is not None:
            counts = all_reduce(counts)
        tp, fp, fn = counts[0], counts[1], counts[2]
        seen = (tp + fp + fn) > 0
        if int(self.epochs_completed) < self.warmup_epochs:
            seen = torch.zeros_like(seen)
        fnr = torch.where(fn + tp > 0, fn / (fn + tp).clamp_min(1e-12), torch.zeros_like(tp))
        fdr = torch.where(fp + tp > 0, fp / (fp + tp).clamp_min(1e-12), torch.zeros_like(tp))
        error = fnr - fdr - self.error_target
        g = self.gains
        integral = (self.integral + error).clamp(-g.integral_limit, g.integral_limit)
        derivative = torch.where(self.has_last_error, error - self.last_error, torch.zeros_like(error))
        control = g.kp * error + g.ki * integral + g.kd * derivative
        beta = (self.beta_0 + control).clamp(*g.output_range).to(self.beta.dtype)
        self.integral.copy_(torch.where(seen, integral, self.integral))
        self.last_error.copy_(torch.where(seen, error, self.last_error))
        self.has_last_error |= seen
        self.beta.copy_(torch.where(seen, beta, self.beta))
        dice = torch.where(seen, 2 * tp / (2 * tp + fp + fn).clamp_min(1e-12), torch.zeros_like(tp))
        if self.weight_gains is not None and bool(seen.any()):
            self._update_weights(dice, seen)
        self.epoch_counts.zero_()
        self.epochs_completed += 1
        return ControllerStep(
            epoch=int(self.epochs_completed),
            error=[float(e) if s else 0.0 for e, s in zip(error, seen, strict=True)],
            integral=self.integral.tolist(),
            alpha=self.alpha.tolist(),
            beta=self.beta.tolist(),
            weights=(self.weights / self.weights.sum()).tolist(),
            dice=dice.tolist(),
            updated=seen.tolist(),
        )

    def _update_weights(self, dice: torch.Tensor, seen: torch.Tensor) -> None:
        g = self.weight_gains
        assert g is not None
        gap = dice[seen].mean() - dice
        integral = (self.weight_integral + gap).clamp(-g.integral_limit, g.integral_limit)
        derivative = torch.where(self.has_last_gap, gap - self.weight_last_gap, torch.zeros_like(gap))
        control = g.kp * gap + g.ki * integral + g.kd * derivative
        weights = (
            (self.base_weights.to(control.dtype) + control).clamp(*g.output_range).to(self.weights.dtype)
        )
        self.weight_integral.copy_(torch.where(seen, integral, self.weight_integral))
        self.weight_last_gap.copy_(torch.where(seen, gap, self.weight_last_gap))
        self.has_last_gap |= seen
        self.weights.copy_(torch.where(seen, weights, self.weights))

    def controller_state(self) -> dict[str, Any]:
        """The controllers' state as plain JSON-able lists (for checkpoints and logs)."""
        return {name: buffer.tolist() for name, buffer in self.named_buffers()}

    def load_controller_state(self, state: dict[str, Any]) -> None:
        """Restore what `controller_state()` returned; a missing or misshapen entry is an error naming it."""
        for name, buffer in self.named_buffers():
            if name not in state:
                raise ValueError(f"controller state lacks {name!r}")
            value = torch.tensor(state[name], dtype=buffer.dtype)
            if value.shape != buffer.shape:
                raise ValueError(
                    f"controller state {name!r} has shape {tuple(value.shape)}, expected {tuple(buffer.shape)}"
                )
            buffer.copy_(value)

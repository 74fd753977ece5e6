"""Benchmark: step-time overhead of Adaptive PID-Tversky over static Tversky (goal <= 5 %).

Run: pytest -m benchmark -s tests/model/test_loss_benchmark.py
"""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from training.losses import AdaptivePIDTverskyLoss, TverskyLoss


def _median_step_seconds(
    loss: nn.Module, head: nn.Module, features, target, classes, repeats: int = 15
) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        head.zero_grad()
        loss(head(features), target, classes).backward()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


@pytest.mark.benchmark
def test_pid_tversky_overhead_against_static_tversky():
    torch.manual_seed(0)
    batch, size = 16, 224
    features = torch.randn(batch, 8, size, size)
    target = (torch.rand(batch, 1, size, size) > 0.8).float()
    classes = torch.randint(0, 5, (batch,))
    head = nn.Conv2d(8, 1, 3, padding=1)  # stands in for the last layer of a model
    static = TverskyLoss(0.5, 0.5, num_classes=5)
    results = {}
    for mode in ("soft", "hard"):
        pid = AdaptivePIDTverskyLoss(num_classes=5, count_mode=mode).train()
        _median_step_seconds(static, head, features, target, classes, repeats=3)
        t_static = _median_step_seconds(static, head, features, target, classes)
        t_pid = _median_step_seconds(pid, head, features, target, classes)
        results[mode] = (t_static, t_pid)
        start = time.perf_counter()
        pid.end_epoch()
        update_ms = (time.perf_counter() - start) * 1e3
        print(
            f"\n[{mode} counts] batch {batch}x1x{size}x{size}, conv head + loss fwd/bwd: "
            f"static Tversky {t_static * 1e3:.1f} ms, PID-Tversky {t_pid * 1e3:.1f} ms, "
            f"overhead {100 * (t_pid / t_static - 1):+.1f} %; end_epoch update {update_ms:.2f} ms"
        )
    assert all(t > 0 for pair in results.values() for t in pair)

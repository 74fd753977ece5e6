"""Benchmark: step-time overhead of Adaptive PID-Tversky over static Tversky (goal <= 5 %).

Run: pytest -m benchmark -s tests/model/test_loss_benchmark.py
Static and PID steps alternate, so load changes on a shared machine hit both alike; medians are printed.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch
from torch import nn

from training.losses import AdaptivePIDTverskyLoss, TverskyLoss


def _step_seconds(loss: nn.Module, head: nn.Module, features, target, classes) -> float:
    start = time.perf_counter()
    head.zero_grad()
    loss(head(features), target, classes).backward()
    return time.perf_counter() - start


@pytest.mark.benchmark
def test_pid_tversky_overhead_against_static_tversky():
    torch.manual_seed(0)
    batch, size, repeats = 16, 224, 30
    features = torch.randn(batch, 8, size, size)
    target = (torch.rand(batch, 1, size, size) > 0.8).float()
    classes = torch.randint(0, 5, (batch,))
    head = nn.Conv2d(8, 1, 3, padding=1)  # stands in for the last layer of a model
    static = TverskyLoss(0.5, 0.5, num_classes=5)
    for mode in ("soft", "hard"):
        pid = AdaptivePIDTverskyLoss(num_classes=5, count_mode=mode).train()
        for _ in range(3):
            _step_seconds(static, head, features, target, classes)
            _step_seconds(pid, head, features, target, classes)
        static_times, pid_times = [], []
        for _ in range(repeats):
            static_times.append(_step_seconds(static, head, features, target, classes))
            pid_times.append(_step_seconds(pid, head, features, target, classes))
        t_static, t_pid = statistics.median(static_times), statistics.median(pid_times)
        start = time.perf_counter()
        pid.end_epoch()
        update_ms = (time.perf_counter() - start) * 1e3
        print(
            f"\n[{mode} counts] batch {batch}x1x{size}x{size}, conv head + loss fwd/bwd, median of {repeats}: "
            f"static Tversky {t_static * 1e3:.1f} ms, PID-Tversky {t_pid * 1e3:.1f} ms, "
            f"overhead {100 * (t_pid / t_static - 1):+.1f} %; end_epoch update {update_ms:.2f} ms"
        )
        assert t_static > 0 and t_pid > 0

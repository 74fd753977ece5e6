"""Schizas grade head: attention pooling of the fused tokens (not global average pooling)."""

from __future__ import annotations

import torch
from torch import nn

from training.models.config import GradeHeadConfig


class AttentionPoolingGradeHead(nn.Module):
    """Fused tokens (B, N, d) -> grade logits (B, G).

    Pooling weights a_n = softmax_n(w^T tanh(V x_n)) (attention-based pooling, Ilse et al. 2018).
    """

    def __init__(self, width: int, config: GradeHeadConfig) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(width, config.hidden), nn.Tanh(), nn.Linear(config.hidden, 1))
        self.classifier = nn.Sequential(
            nn.LayerNorm(width),
            nn.Linear(width, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, len(config.grades)),
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        weights = self.score(tokens).softmax(dim=1)
        return self.classifier((weights * tokens).sum(dim=1))

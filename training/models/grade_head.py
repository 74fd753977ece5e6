"""Schizas grade head: attention pooling of the fused tokens (not global average pooling)."""

from __future__ import annotations

import torch
from torch import nn

from training.models.config import GradeHeadConfig

# The predicted mask's size enters the grade head as two features: the share of the field of view
# it covers and its square root (a diameter), both scaled to about unit range for a dural sac.
MASK_SIZE_FEATURES = 2


def mask_size_features(mask_logits: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) mask logits -> (B, 2) size features of the soft mask, detached: the grade reads
    the segmentation, it does not reshape it."""
    share = torch.sigmoid(mask_logits.detach().float()).mean(dim=(1, 2, 3))
    return torch.stack((share * 20.0, share.clamp_min(1e-6).sqrt() * 5.0), dim=1)


class AttentionPoolingGradeHead(nn.Module):
    """Fused tokens (B, N, d) and the prompt's mask logits -> grade logits (B, G).

    Pooling weights a_n = softmax_n(w^T tanh(V x_n)) (attention-based pooling, Ilse et al. 2018);
    the pooled vector is joined by the size of the predicted mask (Schizas grades go with the dural
    sac's cross-sectional area, and a field of view of fixed mm per pixel makes its share an area).
    """

    def __init__(self, width: int, config: GradeHeadConfig) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(width, config.hidden), nn.Tanh(), nn.Linear(config.hidden, 1))
        self.norm = nn.LayerNorm(width)
        self.classifier = nn.Sequential(
            nn.Linear(width + MASK_SIZE_FEATURES, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, len(config.grades)),
        )

    def forward(self, tokens: torch.Tensor, mask_logits: torch.Tensor) -> torch.Tensor:
        weights = self.score(tokens).softmax(dim=1)
        pooled = self.norm((weights * tokens).sum(dim=1))
        features = mask_size_features(mask_logits).to(pooled.dtype)
        return self.classifier(torch.cat((pooled, features), dim=1))

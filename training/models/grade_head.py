"""Schizas grade head: attention pooling of the fused tokens (not global average pooling)."""

from __future__ import annotations

import torch
from torch import nn

from training.models.config import GradeHeadConfig

# The predicted mask's size enters the grade head as log(share of the field of view it covers),
# shifted and scaled to about unit range for a dural sac (share 0.5 % .. 6 % at 0.5 mm/px).
MASK_SIZE_FEATURES = 1
SIZE_PATH_SCALE = 10.0


def mask_size_features(mask_logits: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) mask logits -> (B, 1) log-size of the soft mask, detached: the grade reads the
    segmentation, it does not reshape it."""
    share = torch.sigmoid(mask_logits.detach().float()).mean(dim=(1, 2, 3))
    return ((share.clamp_min(1e-4).log() + 3.5) * 2.0)[:, None]


class AttentionPoolingGradeHead(nn.Module):
    """Fused tokens (B, N, d), the image's patch tokens (B, N, d) and the prompt's mask logits ->
    grade logits (B, G).

    Attention pooling (Ilse et al. 2018): weights a_n = softmax_n(w^T tanh(V f_n)) come from the
    fused tokens (they know where the prompted structure is), the pooled values are the image's own
    patch tokens x_n, so the prompt's words (e.g. the level) cannot stand in for what the image
    shows. The size of the predicted mask joins the pooled vector and also has a direct linear path
    to the logits: Schizas grades go with the dural sac's area, and a field of view of fixed mm per
    pixel makes the mask's share of it an area.
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
        # Starts neutral (zero), and reads the size scaled up so that modest weights separate grades.
        self.size_logits = nn.Linear(MASK_SIZE_FEATURES, len(config.grades))
        nn.init.zeros_(self.size_logits.weight)
        nn.init.zeros_(self.size_logits.bias)

    def forward(
        self, fused_tokens: torch.Tensor, patch_tokens: torch.Tensor, mask_logits: torch.Tensor
    ) -> torch.Tensor:
        weights = self.score(fused_tokens).softmax(dim=1)
        pooled = self.norm((weights * patch_tokens).sum(dim=1))
        size = mask_size_features(mask_logits).to(pooled.dtype)
        return self.classifier(torch.cat((pooled, size), dim=1)) + self.size_logits(size * SIZE_PATH_SCALE)

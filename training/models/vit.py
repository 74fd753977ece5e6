"""The project's small Vision Transformer: dense patch tokens on a fixed grid, no [CLS] token."""

from __future__ import annotations

import torch
from torch import nn

from training.models.attention import SelfAttentionBlock
from training.models.config import VisionConfig


class SmallViT(nn.Module):
    """Image (B, 1, H, W) in [0, 1] -> patch tokens (B, N, width), N = (H/p)*(W/p), row-major grid."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, config: VisionConfig, input_size: tuple[int, int]) -> None:
        super().__init__()
        rows, cols = input_size
        self.grid = (rows // config.patch_size, cols // config.patch_size)
        self.width = config.width
        self.patch_size = config.patch_size
        channels = len(config.image_mean)
        self.register_buffer("mean", torch.tensor(config.image_mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.image_std).view(1, -1, 1, 1), persistent=False)
        self.patch_embed = nn.Conv2d(channels, config.width, config.patch_size, stride=config.patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], config.width))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(config.width, config.heads, config.mlp_ratio, config.dropout)
            for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.width)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image.expand(-1, self.mean.shape[1], -1, -1) - self.mean) / self.std
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

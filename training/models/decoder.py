"""Conv stem (high-resolution skip features) and the progressive-upsampling mask decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.models.config import DecoderConfig


def _conv_block(in_channels: int, out_channels: int, groups: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(groups, out_channels), out_channels),
        nn.GELU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.GroupNorm(min(groups, out_channels), out_channels),
        nn.GELU(),
    )


class ConvStem(nn.Module):
    """Image (B, 1, H, W) -> skip features at strides 1, 2, 4, ..., patch/2: [(B, c_i, H/2^i, W/2^i)]."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        channels = (1, *config.stem_channels)
        self.stages = nn.ModuleList(
            _conv_block(channels[i], channels[i + 1], config.groups, stride=1 if i == 0 else 2)
            for i in range(len(config.stem_channels))
        )

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        skips = []
        x = image
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return skips


class MaskDecoder(nn.Module):
    """Fused tokens on the patch grid (B, d, H/p, W/p) + stem skips -> mask logits (B, 1, H, W).

    Each stage doubles the resolution, concatenates the skip of that stride, and refines with two convs.
    """

    def __init__(self, width: int, config: DecoderConfig) -> None:
        super().__init__()
        stem = tuple(reversed(config.stem_channels))
        previous = width
        stages = []
        for skip_channels, out_channels in zip(stem, config.decoder_channels, strict=True):
            stages.append(_conv_block(previous + skip_channels, out_channels, config.groups))
            previous = out_channels
        self.stages = nn.ModuleList(stages)
        self.head = nn.Conv2d(previous, 1, 1)

    def forward(self, grid_tokens: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        x = grid_tokens
        for stage, skip in zip(self.stages, reversed(skips), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = stage(torch.cat([x, skip], dim=1))
        return self.head(x)

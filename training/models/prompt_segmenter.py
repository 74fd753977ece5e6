"""The vision-language segmentation model: image + text prompt -> mask, Schizas grade, explanation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from training.models.config import ModelConfig
from training.models.cross_attention import SpatialPatchCrossAttention
from training.models.decoder import ConvStem, MaskDecoder
from training.models.grade_head import AttentionPoolingGradeHead


@dataclass(frozen=True)
class SegmentationOutput:
    """mask_logits (B, 1, H, W); grade_logits (B, G); explanation (B, H/p, W/p) in 0..1."""

    mask_logits: torch.Tensor
    grade_logits: torch.Tensor
    explanation: torch.Tensor


class PromptSegmentationModel(nn.Module):
    """Vision backbone + text encoder + Spatial Patch Cross-Attention + mask decoder + grade head.

    The three stages are separate methods so export can cut the graph where one image encoding
    serves many prompts: encode_image, encode_text, decode.
    """

    def __init__(
        self, config: ModelConfig, vision: nn.Module, text: nn.Module, vision_width: int, text_width: int
    ) -> None:
        super().__init__()
        self.config = config
        rows, cols = config.preprocessing.input_size
        self.grid = (rows // config.vision.patch_size, cols // config.vision.patch_size)
        self.vision = vision
        self.text = text
        self.stem = ConvStem(config.decoder)
        self.fusion = SpatialPatchCrossAttention(vision_width, text_width, config.fusion)
        self.decoder = MaskDecoder(vision_width, config.decoder)
        self.grade_head = AttentionPoolingGradeHead(vision_width, config.grade_head)

    def encode_image(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """image (B, 1, H, W) in [0, 1] -> patch tokens (B, N, d) and stem skips (strides 1..p/2)."""
        return self.vision(image), self.stem(image)

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask (B, L) int64 -> token states (B, L, d_text)."""
        return self.text(input_ids, attention_mask)

    def decode(
        self,
        patch_tokens: torch.Tensor,
        skips: list[torch.Tensor],
        text_tokens: torch.Tensor,
        attention_mask: torch.Tensor,
        content_mask: torch.Tensor,
    ) -> SegmentationOutput:
        fused, explanation = self.fusion(patch_tokens, text_tokens, attention_mask, content_mask)
        batch, _, width = fused.shape
        grid_tokens = fused.transpose(1, 2).reshape(batch, width, self.grid[0], self.grid[1])
        mask_logits = self.decoder(grid_tokens, skips)
        return SegmentationOutput(
            mask_logits=mask_logits,
            grade_logits=self.grade_head(fused, patch_tokens, mask_logits),
            explanation=explanation.reshape(batch, self.grid[0], self.grid[1]),
        )

    def forward(
        self,
        image: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        content_mask: torch.Tensor,
    ) -> SegmentationOutput:
        patch_tokens, skips = self.encode_image(image)
        return self.decode(
            patch_tokens, skips, self.encode_text(input_ids, attention_mask), attention_mask, content_mask
        )

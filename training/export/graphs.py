"""The three ONNX graphs of a model pack, cut where one image encoding serves many prompts.

image_encoder:  image (B, 1, H, W) -> patch_tokens (B, N, d), skip_0..skip_{k-1} (B, c_i, H/2^i, W/2^i)
text_encoder:   input_ids, attention_mask (B, L) int64 -> text_tokens (B, L, d_text)
prompt_decoder: patch_tokens, skips, text_tokens, attention_mask (B, L) int64, content_mask (B, L) float
                -> mask_logits (B, 1, H, W), grade_logits (B, G), explanation (B, H/p, W/p)

The engine encodes a slice once, the prompt vocabulary once per session, and runs only the light
decoder per (slice, prompt) pair.
"""

from __future__ import annotations

import torch
from torch import nn

from training.models import PromptSegmentationModel


class ImageEncoderGraph(nn.Module):
    def __init__(self, model: PromptSegmentationModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        tokens, skips = self.model.encode_image(image)
        return (tokens, *skips)


class TextEncoderGraph(nn.Module):
    def __init__(self, model: PromptSegmentationModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(input_ids, attention_mask)


class PromptDecoderGraph(nn.Module):
    def __init__(self, model: PromptSegmentationModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, patch_tokens: torch.Tensor, *rest: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        *skips, text_tokens, attention_mask, content_mask = rest
        out = self.model.decode(patch_tokens, list(skips), text_tokens, attention_mask, content_mask)
        return out.mask_logits, out.grade_logits, out.explanation


def skip_names(model: PromptSegmentationModel) -> list[str]:
    return [f"skip_{i}" for i in range(len(model.config.decoder.stem_channels))]

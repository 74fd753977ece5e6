"""Spatial Patch Cross-Attention (method.md, step 4).

Patch tokens P (B, N, d) are the queries; the prompt's token states T (B, L, d'), projected to d, are
the keys and values; 8 heads; residual + LayerNorm + MLP as in a transformer decoder block; stacked.
The attention weights of the last block, averaged over heads and weighted by the prompt's content
tokens, are the explanation map on the patch grid.
"""

from __future__ import annotations

import torch
from torch import nn

from training.models.attention import FeedForward, MultiHeadAttention, key_padding_bias
from training.models.config import FusionConfig


class CrossAttentionBlock(nn.Module):
    """P <- LN(P + MHA(P, T)); P <- LN(P + MLP(P)); returns P and the weights (B, heads, N, L)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(width, width, heads, dropout)
        self.norm1 = nn.LayerNorm(width)
        self.mlp = FeedForward(width, mlp_ratio, dropout)
        self.norm2 = nn.LayerNorm(width)

    def forward(
        self, patches: torch.Tensor, text: torch.Tensor, bias: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        attended, weights = self.attention(patches, text, bias, need_weights=True)
        assert weights is not None
        patches = self.norm1(patches + attended)
        return self.norm2(patches + self.mlp(patches)), weights


class SpatialPatchCrossAttention(nn.Module):
    """Fuse patch tokens (B, N, d) with text token states (B, L, d_text).

    Returns fused tokens (B, N, d) and the explanation (B, N): for each patch, the attention mass on
    the prompt's content tokens, mean over heads (0..1).
    """

    def __init__(self, width: int, text_width: int, config: FusionConfig) -> None:
        super().__init__()
        self.text_projection = nn.Sequential(nn.Linear(text_width, width), nn.LayerNorm(width))
        self.blocks = nn.ModuleList(
            CrossAttentionBlock(width, config.heads, config.mlp_ratio, config.dropout)
            for _ in range(config.blocks)
        )

    def forward(
        self,
        patches: torch.Tensor,
        text: torch.Tensor,
        attention_mask: torch.Tensor,
        content_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """attention_mask (B, L): 1 for real tokens; content_mask (B, L): weights of the tokens in the
        explanation (real, non-special tokens); all-zero rows fall back to the attention mask."""
        keys = self.text_projection(text)
        bias = key_padding_bias(attention_mask, keys.dtype)
        weights = torch.zeros(0)
        for block in self.blocks:
            patches, weights = block(patches, keys, bias)
        token_weights = content_mask.to(weights.dtype)
        fallback = attention_mask.to(weights.dtype)
        has_content = (token_weights.sum(-1, keepdim=True) > 0).to(weights.dtype)
        token_weights = has_content * token_weights + (1 - has_content) * fallback
        explanation = (weights.mean(1) * token_weights[:, None, :]).sum(-1)
        return patches, explanation

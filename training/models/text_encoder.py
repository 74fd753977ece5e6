"""The project's small text transformer over the BPE prompt tokenizer: token states, no pooling."""

from __future__ import annotations

import torch
from torch import nn

from training.models.attention import SelfAttentionBlock, key_padding_bias
from training.models.config import TextConfig


class SmallTextEncoder(nn.Module):
    """input_ids (B, L) int64, attention_mask (B, L) -> token states (B, L, width); L <= max_length."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.width = config.width
        self.token_embed = nn.Embedding(config.vocab_size, config.width)
        self.pos_embed = nn.Parameter(torch.zeros(1, config.max_length, config.width))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.token_embed.weight, std=0.02)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(config.width, config.heads, config.mlp_ratio, config.dropout)
            for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.width)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        x = self.token_embed(input_ids) + self.pos_embed[:, :length]
        bias = key_padding_bias(attention_mask, x.dtype)
        for block in self.blocks:
            x = block(x, bias)
        return self.norm(x)

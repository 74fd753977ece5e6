"""Multi-head attention written with explicit projections, so ONNX export keeps batch and sequence
lengths dynamic (nn.MultiheadAttention's legacy export bakes the key length into a Reshape)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Added to the scores of padded keys; finite, so a fully padded row cannot produce NaN, and small
# enough for float16 autocast.
MASKED_SCORE = -1.0e4


def key_padding_bias(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, L) with 1 for real tokens -> additive bias (B, 1, 1, L): 0 for real keys, MASKED_SCORE for padding."""
    return ((1.0 - attention_mask.to(dtype)) * MASKED_SCORE)[:, None, None, :]


class MultiHeadAttention(nn.Module):
    """Attention from queries (B, N, d_q) to keys/values (B, L, d_kv), output (B, N, d_q).

    `need_weights=True` computes the softmax explicitly and also returns the weights (B, heads, N, L);
    otherwise F.scaled_dot_product_attention is used.
    """

    def __init__(self, query_dim: int, key_dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if query_dim % heads:
            raise ValueError(f"query width {query_dim} is not divisible by {heads} heads")
        self.heads = heads
        self.head_dim = query_dim // heads
        self.q_proj = nn.Linear(query_dim, query_dim)
        self.k_proj = nn.Linear(key_dim, query_dim)
        self.v_proj = nn.Linear(key_dim, query_dim)
        self.out_proj = nn.Linear(query_dim, query_dim)
        self.dropout = dropout

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        bias: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        q, k, v = (
            self._split(self.q_proj(queries)),
            self._split(self.k_proj(keys)),
            self._split(self.v_proj(keys)),
        )
        weights = None
        if need_weights:
            scores = q @ k.transpose(-2, -1) * (self.head_dim**-0.5)
            if bias is not None:
                scores = scores + bias.to(scores.dtype)
            weights = scores.softmax(dim=-1)
            attended = F.dropout(weights, self.dropout, self.training) @ v
        else:
            attn_bias = None if bias is None else bias.to(q.dtype)
            attended = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_bias, dropout_p=self.dropout if self.training else 0.0
            )
        batch, _, length, _ = attended.shape
        merged = attended.transpose(1, 2).reshape(batch, length, self.heads * self.head_dim)
        return self.out_proj(merged), weights


class FeedForward(nn.Sequential):
    def __init__(self, width: int, mlp_ratio: float, dropout: float = 0.0) -> None:
        hidden = int(width * mlp_ratio)
        super().__init__(nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, width))


class SelfAttentionBlock(nn.Module):
    """Pre-norm transformer encoder block: x + MHA(LN(x)), then x + MLP(LN(x)); x (B, N, width)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = MultiHeadAttention(width, width, heads, dropout)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = FeedForward(width, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attention(h, h, bias)[0]
        return x + self.mlp(self.norm2(x))

"""Prompt tokenisation with the `tokenizers` library, shared by training and inference.

A model pack ships its tokenizer.json; the same file is used to train the text encoder, so the token
ids the engine feeds the ONNX graphs are the ones the model learned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class TokenBatch:
    """Token ids of a batch of prompts, padded to the longest prompt.

    input_ids: int64 (B, L); attention_mask: int64 (B, L), 1 for real tokens;
    content_mask: float32 (B, L), 1 for real tokens that are not special tokens ([BOS], [CLS], ...),
    the weights of the text tokens in the explanation map.
    """

    input_ids: np.ndarray = field(repr=False)
    attention_mask: np.ndarray = field(repr=False)
    content_mask: np.ndarray = field(repr=False)


class PromptTokenizer:
    """Encodes prompt texts with a tokenizer.json (no padding or truncation configured in the file is used)."""

    def __init__(self, tokenizer_file: Path | str, max_length: int, pad_token: str) -> None:
        from tokenizers import Tokenizer

        path = Path(tokenizer_file)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        pad_id = self._tokenizer.token_to_id(pad_token)
        if pad_id is None:
            raise ValueError(f"{path.name} has no pad token {pad_token!r}")
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length}")
        self.pad_id = int(pad_id)
        self.max_length = max_length
        self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, texts: Sequence[str]) -> TokenBatch:
        """Tokenise texts (lower-casing etc. as the tokenizer defines), truncate to max_length, pad."""
        if not texts:
            raise ValueError("no prompt to encode")
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids[: self.max_length] for e in encodings]
        special = [e.special_tokens_mask[: self.max_length] for e in encodings]
        length = max(len(x) for x in ids)
        input_ids = np.full((len(ids), length), self.pad_id, dtype=np.int64)
        attention = np.zeros((len(ids), length), dtype=np.int64)
        content = np.zeros((len(ids), length), dtype=np.float32)
        for row, (token_ids, specials) in enumerate(zip(ids, special, strict=True)):
            input_ids[row, : len(token_ids)] = token_ids
            attention[row, : len(token_ids)] = 1
            content[row, : len(token_ids)] = 1.0 - np.asarray(specials, dtype=np.float32)
        return TokenBatch(input_ids=input_ids, attention_mask=attention, content_mask=content)

"""Text-prompted segmentation of one slice with a model pack on ONNX Runtime (numpy in, numpy out).

The slice is preprocessed exactly as in training (engine.preprocessing), encoded once, and decoded
for each prompt; prompt encodings are cached for the session. Masks, grade probabilities and the
explanation map come back on the slice's own pixel grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.preprocessing import prepare_slice
from engine.prompt_tokens import PromptTokenizer
from engine.runtime.model_pack import ModelPack
from engine.runtime.sessions import SessionCache


@dataclass(frozen=True, eq=False)
class PromptResult:
    """One prompt's answer on one slice.

    mask_probability: float32 (rows, cols) in [0, 1] on the original pixel grid (0 outside the
        model's field of view).
    grade_probabilities: ((grade, probability), ...) in the pack's grade order, summing to 1.
    explanation: float32 (rows, cols), the cross-attention share of each region on the prompt's
        words (0..1), on the original grid.
    """

    prompt: str
    mask_probability: np.ndarray = field(repr=False)
    grade_probabilities: tuple[tuple[str, float], ...]
    explanation: np.ndarray = field(repr=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))).astype(np.float32)


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class PromptSegmenter:
    """Runs a model pack's three graphs; sessions are created on first use and reused."""

    def __init__(
        self,
        pack: ModelPack,
        provider: str = "auto",
        intra_op_threads: int | None = None,
        sessions: SessionCache | None = None,
    ) -> None:
        self.pack = pack
        self.provider = provider
        self.intra_op_threads = intra_op_threads
        self._sessions = sessions or SessionCache()
        self._tokenizer = PromptTokenizer(pack.tokenizer_file, pack.max_prompt_tokens, pack.pad_token)
        self._text_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _session(self, graph: str):
        return self._sessions.get(self.pack.graphs[graph].file, self.provider, self.intra_op_threads)

    def execution_providers(self) -> list[str]:
        """What ONNX Runtime really runs the image encoder on (e.g. ['CPUExecutionProvider'])."""
        return list(self._session("image_encoder").get_providers())

    def _encode_prompts(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Text tokens (P, L, d), attention mask (P, L) int64 and content mask (P, L) float32."""
        missing = [p for p in dict.fromkeys(prompts) if p not in self._text_cache]
        if missing:
            tokens = self._tokenizer.encode(missing)
            states = self._session("text_encoder").run(
                None, {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask}
            )[0]
            for row, prompt in enumerate(missing):
                length = int(tokens.attention_mask[row].sum())
                self._text_cache[prompt] = (
                    states[row, :length],
                    tokens.attention_mask[row, :length],
                    tokens.content_mask[row, :length],
                )
        longest = max(self._text_cache[p][0].shape[0] for p in prompts)
        width = self._text_cache[prompts[0]][0].shape[1]
        states = np.zeros((len(prompts), longest, width), dtype=np.float32)
        attention = np.zeros((len(prompts), longest), dtype=np.int64)
        content = np.zeros((len(prompts), longest), dtype=np.float32)
        for row, prompt in enumerate(prompts):
            s, a, c = self._text_cache[prompt]
            states[row, : s.shape[0]], attention[row, : a.shape[0]], content[row, : c.shape[0]] = s, a, c
        return states, attention, content

    def segment(
        self,
        image: np.ndarray,
        spacing_mm: tuple[float, float],
        prompts: Sequence[str],
        plane: str = "axial",
        centre_rc: tuple[float, float] | None = None,
    ) -> list[PromptResult]:
        """Segment one slice (rows, cols) with pixel spacing (row, col) mm for each prompt.

        plane: 'sagittal' or 'axial' (chooses the preprocessing spacing); centre_rc: the original
        pixel (row, col) to centre the model's field of view on (e.g. the canal), None = slice centre.
        """
        if not prompts:
            raise ValueError("no prompt given")
        prepared = prepare_slice(image, spacing_mm, self.pack.preprocessing.for_plane(plane), centre_rc)
        image_outputs = self._session("image_encoder").run(None, {"image": prepared.pixels[None, None]})
        states, attention, content = self._encode_prompts(list(prompts))
        count = len(prompts)
        encoder = self.pack.graphs["image_encoder"]
        feeds = {
            name: np.repeat(value, count, axis=0)
            for name, value in zip(encoder.outputs, image_outputs, strict=True)
        }
        feeds.update({"text_tokens": states, "attention_mask": attention, "content_mask": content})
        mask_logits, grade_logits, explanation = self._session("prompt_decoder").run(None, feeds)
        probabilities = _softmax(grade_logits.astype(np.float64))
        rows, cols = prepared.pixels.shape
        results = []
        for index, prompt in enumerate(prompts):
            mask = prepared.mapping.to_original(_sigmoid(mask_logits[index, 0]))
            attention_map = cv2.resize(
                explanation[index].astype(np.float32), (cols, rows), interpolation=cv2.INTER_LINEAR
            )
            results.append(
                PromptResult(
                    prompt=prompt,
                    mask_probability=np.clip(mask, 0.0, 1.0),
                    grade_probabilities=tuple(
                        (grade, float(p))
                        for grade, p in zip(self.pack.grades, probabilities[index], strict=True)
                    ),
                    explanation=np.clip(prepared.mapping.to_original(attention_map), 0.0, 1.0),
                )
            )
        return results

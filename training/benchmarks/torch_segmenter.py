"""The trained model in eager torch behind the engine's StructureSegmenter interface: the baseline
that ONNX Runtime is timed against (same preprocessing, same tokenizer, same outputs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from engine import __version__
from engine.findings import Provenance
from engine.preprocessing import PlanePreprocessing, prepare_slice
from engine.prompt_tokens import PromptTokenizer
from engine.runtime.segmenter import PromptResult
from engine.segmentation.segmenter import SliceImage
from training.export.pack_writer import load_trained_model
from training.models import PromptSegmentationModel, create_model
from training.trainer.initial_model import load_initial_model


def _load_model(path: Path) -> tuple[PromptSegmentationModel, Path]:
    """The model in eval mode and its tokenizer file, from a best/ folder or a model pack (verified
    by sha256; its training weights are the same state the ONNX graphs were exported from)."""
    if (path / "model.json").is_file():
        model, metadata = load_trained_model(path)
        return model, path / metadata.get("tokenizer_file", "tokenizer.json")
    initial = load_initial_model(path)
    model, _ = create_model(initial.config)
    model.load_state_dict(initial.weights)
    return model.eval(), initial.tokenizer_file


class TorchStructureSegmenter:
    """A trained model folder (best/: model.safetensors + model.json + tokenizer.json), or a model
    pack with its fine-tuning weights, on torch's CPU (or CUDA) kernels; prompt encodings are cached
    like the ONNX Runtime segmenter's."""

    def __init__(self, model_dir: Path, device: str = "cpu", threads: int | None = None) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        self.model, tokenizer_file = _load_model(model_dir)
        self.device = torch.device(device)
        self.model.to(self.device)
        text = self.model.config.text
        self.tokenizer = PromptTokenizer(tokenizer_file, text.max_length, text.pad_token)
        self.preprocessing: PlanePreprocessing = self.model.config.preprocessing
        self.grades: tuple[str, ...] = tuple(self.model.config.grade_head.grades)
        self.name = model_dir.name
        self._text: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def _encode_prompts(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        missing = [p for p in dict.fromkeys(prompts) if p not in self._text]
        if missing:
            tokens = self.tokenizer.encode(missing)
            ids = torch.from_numpy(tokens.input_ids).to(self.device)
            attention = torch.from_numpy(tokens.attention_mask).to(self.device)
            states = self.model.encode_text(ids, attention)
            for row, prompt in enumerate(missing):
                length = int(tokens.attention_mask[row].sum())
                self._text[prompt] = (
                    states[row, :length],
                    attention[row, :length],
                    torch.from_numpy(tokens.content_mask[row, :length]).to(self.device),
                )
        longest = max(self._text[p][0].shape[0] for p in prompts)
        width = self._text[prompts[0]][0].shape[1]
        states = torch.zeros((len(prompts), longest, width), device=self.device)
        attention = torch.zeros((len(prompts), longest), dtype=torch.int64, device=self.device)
        content = torch.zeros((len(prompts), longest), device=self.device)
        for row, prompt in enumerate(prompts):
            s, a, c = self._text[prompt]
            states[row, : len(s)], attention[row, : len(a)], content[row, : len(c)] = s, a, c
        return states, attention, content

    @torch.no_grad()
    def segment(
        self, image: SliceImage, prompts: Sequence[str], centre_rc: tuple[float, float] | None = None
    ) -> list[PromptResult]:
        prepared = prepare_slice(
            image.pixels, image.spacing_mm, self.preprocessing.for_plane(image.plane), centre_rc
        )
        pixels = torch.from_numpy(prepared.pixels)[None, None].to(self.device)
        tokens, skips = self.model.encode_image(pixels)
        states, attention, content = self._encode_prompts(list(prompts))
        count = len(prompts)
        output = self.model.decode(
            tokens.expand(count, -1, -1),
            [s.expand(count, -1, -1, -1) for s in skips],
            states,
            attention,
            content,
        )
        masks = torch.sigmoid(output.mask_logits[:, 0]).cpu().numpy()
        grades = torch.softmax(output.grade_logits.double(), dim=-1).cpu().numpy()
        explanations = output.explanation.cpu().numpy().astype(np.float32)
        rows, cols = prepared.pixels.shape
        results = []
        for index, prompt in enumerate(prompts):
            attention_map = cv2.resize(explanations[index], (cols, rows), interpolation=cv2.INTER_LINEAR)
            results.append(
                PromptResult(
                    prompt=prompt,
                    mask_probability=np.clip(prepared.mapping.to_original(masks[index]), 0.0, 1.0),
                    grade_probabilities=tuple(
                        (g, float(p)) for g, p in zip(self.grades, grades[index], strict=True)
                    ),
                    explanation=np.clip(prepared.mapping.to_original(attention_map), 0.0, 1.0),
                )
            )
        return results

    def field_of_view_mm(self, plane: str) -> float:
        config = self.preprocessing.for_plane(plane)
        return float(min(config.input_size) * config.target_spacing_mm)

    def provenance(self, parameters: tuple[tuple[str, str], ...] = ()) -> Provenance:
        return Provenance(f"{self.name} (torch eager)", "-", "-", __version__, parameters)

    def execution_providers(self) -> list[str]:
        return [f"torch {torch.__version__} {self.device.type}"]

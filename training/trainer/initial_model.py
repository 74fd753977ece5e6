"""Where a fine-tuning run starts: a model pack exported with its training weights (the bundled
default, a BiomedCLIP-based pack, a previous site model) or a trained model folder (best/).

A pack's ONNX graphs cannot be trained; packs therefore also carry `model.safetensors` (the torch
weights) next to config.json, whose "architecture" is the model config and whose "training_weights"
names that file (training.export). The pack is verified (sha256 of every file) before use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from engine.runtime.model_pack import MANIFEST, ModelPackError, verify_model_pack
from training.models import load_model_config
from training.models.config import ModelConfig


@dataclass(frozen=True, eq=False)
class InitialModel:
    """Architecture (overrides applied), weights and tokenizer of the starting point; source says
    what it was ("model pack NAME VERSION" or "model folder PATH")."""

    config: ModelConfig
    weights: dict[str, torch.Tensor] = field(repr=False)
    tokenizer_file: Path
    source: str


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def load_initial_model(path: Path, overrides: dict[str, Any] | None = None) -> InitialModel:
    """Read a pack or model folder; overrides patch the architecture (e.g. {"open_clip": {"local_dir":
    ...}} when the BiomedCLIP folder lies elsewhere on this machine). Raises ValueError or
    FileNotFoundError naming what is missing."""
    if (path / MANIFEST).is_file():
        try:
            verify_model_pack(path)
        except ModelPackError as exc:
            raise ValueError(f"cannot fine-tune from {path}: {exc}") from exc
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        weights_entry = config.get("training_weights")
        if not weights_entry:
            raise ValueError(
                f"model pack {path.name} carries no training weights (exported without them): fine-tune from "
                "its training folder (best/) or export it again with its weights"
            )
        weights = _require_file(path / weights_entry["file"], "training weights of the pack")
        tokenizer = _require_file(
            path / config.get("text", {}).get("tokenizer", "tokenizer.json"), "pack tokenizer"
        )
        model_config = load_model_config(config["architecture"], overrides)
        source = f"model pack {config.get('name')} {config.get('version')}"
    elif (path / "model.json").is_file():
        metadata = json.loads((path / "model.json").read_text(encoding="utf-8"))
        weights = _require_file(path / "model.safetensors", "model weights")
        tokenizer = _require_file(path / metadata.get("tokenizer_file", "tokenizer.json"), "model tokenizer")
        model_config = load_model_config(metadata["model_config"], overrides)
        source = f"model folder {path}"
    else:
        raise FileNotFoundError(
            f"{path} is neither a model pack (manifest.json) nor a model folder (model.json)"
        )
    if model_config.uses_open_clip:
        local = model_config.open_clip.local_dir
        if not local or not Path(local).is_dir():
            raise FileNotFoundError(
                f"{source} uses open_clip towers from {local!r}, not found here: set model_overrides "
                '{"open_clip": {"local_dir": "/path/to/BiomedCLIP"}} (or lss train --open-clip-dir)'
            )
    return InitialModel(model_config, load_file(str(weights)), tokenizer, source)

"""Registry of architectures (JSON configs in training/models/configs/) and the one model factory."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from engine.preprocessing import PlanePreprocessing
from training.models.config import ModelConfig
from training.models.prompt_segmenter import PromptSegmentationModel

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def list_model_configs() -> list[str]:
    """Names of the registered architectures."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_model_config(
    name_or_config: str | Path | dict[str, Any] | ModelConfig, overrides: dict[str, Any] | None = None
) -> ModelConfig:
    """A registered name, a path to a JSON file, a mapping or a ModelConfig, with nested overrides."""
    if isinstance(name_or_config, ModelConfig):
        data = name_or_config.to_dict()
    elif isinstance(name_or_config, dict):
        data = name_or_config
    else:
        path = Path(name_or_config)
        if path.suffix != ".json":
            path = CONFIG_DIR / f"{name_or_config}.json"
            if not path.is_file():
                raise ValueError(
                    f"unknown model {name_or_config!r}; registered: {', '.join(list_model_configs())}"
                )
        if not path.is_file():
            raise FileNotFoundError(f"model config not found: {path}")
        data = json.loads(path.read_text(encoding="utf-8"))
    return ModelConfig.from_dict(_merge(data, overrides or {}))


def create_model(
    name_or_config: str | Path | dict[str, Any] | ModelConfig, overrides: dict[str, Any] | None = None
) -> tuple[PromptSegmentationModel, PlanePreprocessing]:
    """Build the model of an architecture (random weights for the project's own towers, the site's
    weights for open_clip towers) and return it with its matching preprocessing."""
    config = load_model_config(name_or_config, overrides)
    if config.uses_open_clip:
        from training.models.open_clip_towers import load_open_clip_towers

        towers = load_open_clip_towers(config.open_clip)
        if towers.patch_size != config.vision.patch_size and config.vision.type == "open_clip":
            raise ValueError(
                f"{config.name}: config patch_size {config.vision.patch_size} != tower's {towers.patch_size}"
            )
        if config.vision.type == "open_clip" and towers.image_size != config.preprocessing.input_size:
            raise ValueError(
                f"{config.name}: input size {config.preprocessing.input_size} != the tower's {towers.image_size}"
            )
    vision, vision_width = _vision_tower(config, towers if config.uses_open_clip else None)
    text, text_width = _text_tower(config, towers if config.uses_open_clip else None)
    return PromptSegmentationModel(config, vision, text, vision_width, text_width), config.preprocessing


def _vision_tower(config: ModelConfig, towers: Any) -> tuple[Any, int]:
    if config.vision.type == "open_clip":
        return towers.vision, towers.vision_width
    from training.models.vit import SmallViT

    return SmallViT(config.vision, config.preprocessing.input_size), config.vision.width


def _text_tower(config: ModelConfig, towers: Any) -> tuple[Any, int]:
    if config.text.type == "open_clip":
        return towers.text, towers.text_width
    from training.models.text_encoder import SmallTextEncoder

    return SmallTextEncoder(config.text), config.text.width

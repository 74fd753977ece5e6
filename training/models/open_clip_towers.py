"""BiomedCLIP (or any open_clip model with a timm vision tower and an HF text tower) from a local
folder in the hub layout: open_clip_config.json + open_clip_pytorch_model.bin/.safetensors +
tokenizer files. Nothing is downloaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.models.config import OpenClipConfig

WEIGHT_FILES: tuple[str, ...] = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class OpenClipTowers:
    """The loaded towers and what the rest of the model needs to know about them."""

    vision: nn.Module
    text: nn.Module
    vision_width: int
    text_width: int
    patch_size: int
    image_size: tuple[int, int]
    tokenizer_file: Path


def _read_open_clip_config(local_dir: Path) -> dict[str, Any]:
    config_file = local_dir / "open_clip_config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{local_dir}: no open_clip_config.json (expected the hub layout)")
    data = json.loads(config_file.read_text(encoding="utf-8"))
    if "model_cfg" not in data:
        raise ValueError(f"{config_file}: no 'model_cfg' section")
    return dict(data)


def load_open_clip_towers(config: OpenClipConfig) -> OpenClipTowers:
    """Load the model with open_clip from `local-dir:` and wrap its vision and text towers."""
    import open_clip

    if not config.local_dir:
        raise ValueError("open_clip.local_dir is not set: give the folder holding the open_clip model")
    local_dir = Path(config.local_dir).expanduser().resolve()
    if not local_dir.is_dir():
        raise FileNotFoundError(f"open_clip model folder not found: {local_dir}")
    clip_config = _read_open_clip_config(local_dir)
    if not any((local_dir / name).is_file() for name in WEIGHT_FILES):
        raise FileNotFoundError(f"{local_dir}: no weights ({' or '.join(WEIGHT_FILES)})")
    tokenizer_file = local_dir / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(f"{local_dir}: no tokenizer.json (the prompt tokenizer is read from it)")
    text_cfg = dict(clip_config["model_cfg"].get("text_cfg", {}))
    overrides: dict[str, Any] = {}
    hf_name = text_cfg.get("hf_model_name")
    if hf_name and not Path(hf_name).is_dir():
        if not config.text_config_dir:
            raise ValueError(
                f"{local_dir}: the text tower names the hub model {hf_name!r}; set open_clip.text_config_dir "
                "to a local folder holding its config.json (nothing is downloaded)"
            )
        # A replaced text_cfg loses open_clip's own "no base weights" flag: the checkpoint has them all.
        overrides["text_cfg"] = {
            **text_cfg,
            "hf_model_name": str(Path(config.text_config_dir).resolve()),
            "hf_model_pretrained": False,
        }
    model = open_clip.create_model_from_pretrained(
        f"local-dir:{local_dir}", return_transform=False, pretrained_text=False, **overrides
    )
    preprocess = clip_config.get("preprocess_cfg", {})
    vision = TimmPatchTokens(model.visual, preprocess.get("mean"), preprocess.get("std"))
    text = HFTokenStates(model.text)
    vision.requires_grad_(not config.freeze_vision)
    text.requires_grad_(not config.freeze_text)
    return OpenClipTowers(
        vision=vision,
        text=text,
        vision_width=vision.width,
        text_width=text.width,
        patch_size=vision.patch_size,
        image_size=vision.image_size,
        tokenizer_file=tokenizer_file,
    )


class TimmPatchTokens(nn.Module):
    """open_clip timm vision tower -> dense patch tokens (B, N, width), prefix ([CLS]) tokens removed.

    Takes the shared preprocessing's image (B, 1, H, W) in [0, 1], repeats it to 3 channels and
    applies the tower's own mean/std."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, visual: nn.Module, mean: list[float] | None, std: list[float] | None) -> None:
        super().__init__()
        trunk = getattr(visual, "trunk", None)
        if trunk is None or not hasattr(trunk, "forward_features"):
            raise ValueError("only open_clip timm vision towers (e.g. BiomedCLIP's ViT-B/16) are supported")
        self.trunk = trunk
        self.prefix_tokens = int(getattr(trunk, "num_prefix_tokens", 1))
        self.width = int(trunk.num_features)
        patch = trunk.patch_embed.patch_size
        self.patch_size = int(patch[0] if isinstance(patch, (tuple, list)) else patch)
        size = trunk.patch_embed.img_size
        self.image_size = (int(size[0]), int(size[1]))
        self.register_buffer("mean", torch.tensor(mean or [0.5, 0.5, 0.5]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std or [0.5, 0.5, 0.5]).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image.expand(-1, 3, -1, -1) - self.mean) / self.std
        return self.trunk.forward_features(x)[:, self.prefix_tokens :]


class HFTokenStates(nn.Module):
    """open_clip HF text tower -> last hidden states (B, L, width) of every token, no pooling."""

    def __init__(self, text: nn.Module) -> None:
        super().__init__()
        transformer = getattr(text, "transformer", None)
        if transformer is None:
            raise ValueError("only open_clip HF text towers (e.g. BiomedCLIP's PubMedBERT) are supported")
        self.transformer = transformer
        self.width = int(transformer.config.hidden_size)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

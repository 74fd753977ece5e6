"""Typed architecture configs, read from the JSON files of the registry (training/models/configs/)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.preprocessing import PlanePreprocessing

GRADE_NAMES: tuple[str, ...] = ("A", "B", "C", "D")


def _fields(cls: type, data: dict[str, Any], section: str) -> dict[str, Any]:
    known = set(getattr(cls, "__dataclass_fields__", {}))
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"model config section {section!r}: unknown field(s) {', '.join(unknown)}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


@dataclass(frozen=True)
class VisionConfig:
    """Vision backbone. type 'vit': the project's small ViT; 'open_clip': an open_clip timm tower
    (BiomedCLIP) loaded from `OpenClipConfig.local_dir`. width/patch_size are read from the tower then."""

    type: str = "vit"
    patch_size: int = 16
    width: int = 192
    depth: int = 6
    heads: int = 3
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    image_mean: tuple[float, ...] = (0.5,)
    image_std: tuple[float, ...] = (0.25,)


@dataclass(frozen=True)
class TextConfig:
    """Text encoder. type 'transformer': the project's small transformer over the BPE tokenizer;
    'open_clip': the open_clip HF text tower (BiomedCLIP's PubMedBERT), token states without pooling."""

    type: str = "transformer"
    vocab_size: int = 2048
    width: int = 192
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 4.0
    max_length: int = 32
    pad_token: str = "[PAD]"
    dropout: float = 0.0


@dataclass(frozen=True)
class OpenClipConfig:
    """Where an open_clip model in the hub layout lies (open_clip_config.json + weights + tokenizer).

    text_config_dir: a local folder with the HF text model's config.json, used when the config's
    hf_model_name is a hub id (offline, nothing is downloaded)."""

    local_dir: str | None = None
    text_config_dir: str | None = None
    freeze_vision: bool = False
    freeze_text: bool = True


@dataclass(frozen=True)
class FusionConfig:
    """Spatial Patch Cross-Attention: patch tokens query the projected text tokens."""

    heads: int = 8
    blocks: int = 2
    mlp_ratio: float = 4.0
    dropout: float = 0.0


@dataclass(frozen=True)
class DecoderConfig:
    """Mask decoder. stem_channels: conv-stem skip channels at strides 1, 2, 4, ... (one per x2
    upsampling, so len = log2(patch_size)); decoder_channels: channels after each upsampling."""

    stem_channels: tuple[int, ...] = (8, 16, 32, 48)
    decoder_channels: tuple[int, ...] = (96, 48, 24, 16)
    groups: int = 8


@dataclass(frozen=True)
class GradeHeadConfig:
    hidden: int = 128
    grades: tuple[str, ...] = GRADE_NAMES


@dataclass(frozen=True)
class ModelConfig:
    """One architecture with its matching preprocessing."""

    name: str
    description: str
    vision: VisionConfig
    text: TextConfig
    fusion: FusionConfig
    decoder: DecoderConfig
    grade_head: GradeHeadConfig
    preprocessing: PlanePreprocessing
    open_clip: OpenClipConfig = field(default_factory=OpenClipConfig)

    def __post_init__(self) -> None:
        rows, cols = self.preprocessing.input_size
        patch = self.vision.patch_size
        if rows % patch or cols % patch:
            raise ValueError(
                f"{self.name}: input size {rows}x{cols} is not a multiple of the patch size {patch}"
            )
        if patch & (patch - 1):
            raise ValueError(f"{self.name}: patch_size must be a power of two, got {patch}")
        levels = int(math.log2(patch))
        if len(self.decoder.stem_channels) != levels or len(self.decoder.decoder_channels) != levels:
            raise ValueError(
                f"{self.name}: patch size {patch} needs {levels} stem and decoder channel entries "
                f"(got {len(self.decoder.stem_channels)} and {len(self.decoder.decoder_channels)})"
            )
        if self.vision.type not in ("vit", "open_clip"):
            raise ValueError(
                f"{self.name}: vision.type must be 'vit' or 'open_clip', got {self.vision.type!r}"
            )
        if self.text.type not in ("transformer", "open_clip"):
            raise ValueError(
                f"{self.name}: text.type must be 'transformer' or 'open_clip', got {self.text.type!r}"
            )
        if self.vision.type == "vit" and self.vision.width % self.fusion.heads:
            raise ValueError(
                f"{self.name}: vision width {self.vision.width} not divisible by {self.fusion.heads} heads"
            )
        if not 1 <= self.fusion.blocks <= 4:
            raise ValueError(f"{self.name}: fusion.blocks must be 1..4, got {self.fusion.blocks}")

    @property
    def uses_open_clip(self) -> bool:
        return "open_clip" in (self.vision.type, self.text.type)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        required = ("name", "vision", "text", "fusion", "decoder", "grade_head", "preprocessing")
        missing = [key for key in required if key not in data]
        if missing:
            raise ValueError(f"model config lacks {', '.join(missing)}")
        unknown = sorted(set(data) - set(getattr(cls, "__dataclass_fields__", {})))
        if unknown:
            raise ValueError(f"model config: unknown field(s) {', '.join(unknown)}")
        return cls(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            vision=VisionConfig(**_fields(VisionConfig, data["vision"], "vision")),
            text=TextConfig(**_fields(TextConfig, data["text"], "text")),
            fusion=FusionConfig(**_fields(FusionConfig, data["fusion"], "fusion")),
            decoder=DecoderConfig(**_fields(DecoderConfig, data["decoder"], "decoder")),
            grade_head=GradeHeadConfig(**_fields(GradeHeadConfig, data["grade_head"], "grade_head")),
            preprocessing=PlanePreprocessing.from_dict(data["preprocessing"]),
            open_clip=OpenClipConfig(**_fields(OpenClipConfig, data.get("open_clip", {}), "open_clip")),
        )

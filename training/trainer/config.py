"""The training configuration (`lss train --config FILE`, JSON) as typed, frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.data.augmentation import AugmentationConfig
from training.losses import LOSS_NAMES


def _check_fields(cls: type, data: dict[str, Any], section: str) -> None:
    unknown = sorted(set(data) - set(getattr(cls, "__dataclass_fields__", {})))
    if unknown:
        raise ValueError(f"training config {section}: unknown field(s) {', '.join(unknown)}")


@dataclass(frozen=True)
class DataConfig:
    """Where the training data lies and how it is split and sampled.

    spider_root: SPIDER sagittal folder (slices_manifest.csv, images/, masks/), or None.
    spider_spacing_mm: pixel spacing assumed for the SPIDER PNGs, mm.
    synthetic_roots: folders of synthetic studies (each a study or a folder of studies).
    site_roots: site-data folders (training/site_data/FORMAT.md); a folder with blocking problems
        is refused with each problem named.
    use_pseudo_masks: for site levels without a mask, train on accepted report-conditioned
        pseudo-masks (rejected ones are counted in site_targets.json, never used).
    held_out_fraction: share of patients/studies kept for validation (split by group, never by slice).
    split_seed: seed of the split.
    grade_max_distance_mm: axial slices farther than this from their disc carry no grade label.
    samples_per_epoch: samples drawn per epoch (None: the training set size).
    balance_grades: draw minority grades as often as the others (with augmentation).
    graded_share: with balance_grades, the share of draws given to samples that carry a grade
        (None: their natural share, often ~10 % when most prompts carry none).
    augmentation: training-only augmentation ranges (None: no augmentation).
    cache_slices: preprocessed slices kept in memory per loader worker.
    num_workers: DataLoader worker processes.
    planes: keep only samples of these imaging planes ('sagittal', 'axial'); e.g. an axial-only
        run for the grade-imbalance ablation.
    """

    spider_root: str | None = None
    spider_spacing_mm: float = 0.46875
    synthetic_roots: tuple[str, ...] = ()
    site_roots: tuple[str, ...] = ()
    use_pseudo_masks: bool = True
    held_out_fraction: float = 0.2
    split_seed: int = 0
    grade_max_distance_mm: float = 4.0
    samples_per_epoch: int | None = None
    balance_grades: bool = True
    graded_share: float | None = None
    augmentation: AugmentationConfig | None = field(default_factory=AugmentationConfig)
    cache_slices: int = 512
    num_workers: int = 0
    planes: tuple[str, ...] = ("sagittal", "axial")

    def __post_init__(self) -> None:
        unknown = sorted(set(self.planes) - {"sagittal", "axial"})
        if unknown or not self.planes:
            raise ValueError(
                f"training config data.planes must name 'sagittal' and/or 'axial', got {self.planes}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataConfig:
        _check_fields(cls, data, "data")
        values = dict(data)
        for key in ("synthetic_roots", "site_roots", "planes"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("augmentation") is not None:
            values["augmentation"] = AugmentationConfig.from_dict(values["augmentation"])
        return cls(**values)


@dataclass(frozen=True)
class ExportConfig:
    """Export the best model as a model pack after training (pack_dir None: no export).
    include_weights: the pack also carries the torch weights, so it can be fine-tuned later."""

    pack_dir: str | None = None
    pack_name: str = "lss-default"
    pack_version: str = "0.1.0"
    opset: int = 18
    include_weights: bool = True


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; a run is reproducible from this file and the data.

    output_dir: checkpoints, history.jsonl, best/ model. model: registered architecture name, JSON
    path or mapping; model_overrides: nested overrides (e.g. {"open_clip": {"local_dir": ...}}).
    init_from: fine-tune from this model pack (exported with its weights) or trained model folder
        (best/): its architecture (with model_overrides applied), weights and tokenizer replace
        `model` and `tokenizer_file`.
    tokenizer_file: the prompt tokenizer.json (None: trained into output_dir on the clinical corpus
    plus notes_csv; ignored for open_clip text towers, which bring theirs).
    loss: one of training.losses.LOSS_NAMES; loss_options: its constructor options.
    grade_loss_weight: weight of the grade cross-entropy against the segmentation loss.
    grade_head_lr_scale: the grade head's learning rate as a multiple of learning_rate (its
        mapping from mask size to grade needs large weights, learned from a few samples per batch).
    explanation_loss_weight: weight of the attention grounding term, a binary cross-entropy between
    the explanation map (each patch's cross-attention share on the prompt's words) and the share of
    the patch covered by the target mask; without it one prompt's few tokens get uniform attention
    and the map is flat (0: off).
    epochs, batch_size (per process), learning_rate (AdamW, peak), weight_decay, warmup_steps,
    min_learning_rate (cosine floor), gradient_clip (max norm, 0: off).
    seed: all random draws. device: 'auto' (CUDA when present), 'cpu' or 'cuda'. amp: mixed
    precision on CUDA (bf16 when supported, else fp16 with loss scaling).
    early_stopping_patience: epochs without a better validation metric before stopping (0: off).
    checkpoint_every_steps: also checkpoint inside an epoch (0: only at epoch ends).
    max_steps / max_minutes: stop early after that many optimiser steps / minutes (None: no limit).
    log_every_steps: step progress lines. resume: continue from the last checkpoint in output_dir.
    """

    output_dir: str
    data: DataConfig
    model: str | dict[str, Any] = "lss-vit-small"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None
    tokenizer_file: str | None = None
    notes_csv: str | None = None
    loss: str = "pid_tversky"
    loss_options: dict[str, Any] = field(default_factory=dict)
    grade_loss_weight: float = 0.5
    grade_head_lr_scale: float = 1.0
    explanation_loss_weight: float = 0.1
    epochs: int = 30
    batch_size: int = 8
    learning_rate: float = 3e-4
    min_learning_rate: float = 1e-6
    weight_decay: float = 0.05
    warmup_steps: int = 100
    gradient_clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    early_stopping_patience: int = 8
    checkpoint_every_steps: int = 0
    max_steps: int | None = None
    max_minutes: float | None = None
    log_every_steps: int = 10
    resume: bool = True
    export: ExportConfig = field(default_factory=ExportConfig)

    def __post_init__(self) -> None:
        if self.loss not in LOSS_NAMES:
            raise ValueError(
                f"training config: loss must be one of {', '.join(LOSS_NAMES)}, got {self.loss!r}"
            )
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"training config: device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"training config: {name} must be >= 1")
        if self.learning_rate <= 0:
            raise ValueError("training config: learning_rate must be > 0")
        if self.data.spider_root is None and not self.data.synthetic_roots and not self.data.site_roots:
            raise ValueError("training config: data needs spider_root and/or synthetic_roots, or site_roots")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        _check_fields(cls, data, "top level")
        for key in ("output_dir", "data"):
            if key not in data:
                raise ValueError(f"training config lacks {key!r}")
        values = dict(data)
        values["data"] = DataConfig.from_dict(values["data"])
        if "export" in values:
            _check_fields(ExportConfig, values["export"], "export")
            values["export"] = ExportConfig(**values["export"])
        return cls(**values)

    @classmethod
    def from_file(cls, path: Path) -> TrainConfig:
        """Read a JSON config; relative paths inside it are taken relative to the file's folder."""
        return cls.from_dict(cls.mapping_from_file(path))

    @staticmethod
    def mapping_from_file(path: Path) -> dict[str, Any]:
        """The JSON mapping of a config file with relative paths resolved (not yet validated)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
        base = path.resolve().parent
        data["output_dir"] = (
            str(base / data["output_dir"]) if "output_dir" in data else data.get("output_dir")
        )
        for key in ("tokenizer_file", "notes_csv", "init_from"):
            if data.get(key):
                data[key] = str(base / data[key])
        section = data.get("data", {})
        if section.get("spider_root"):
            section["spider_root"] = str(base / section["spider_root"])
        for key in ("synthetic_roots", "site_roots"):
            section[key] = [str(base / p) for p in section.get(key, [])]
        if isinstance(data.get("export"), dict) and data["export"].get("pack_dir"):
            data["export"]["pack_dir"] = str(base / data["export"]["pack_dir"])
        return data

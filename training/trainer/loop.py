"""The training loop behind `lss train` and the GUI wizard: `train(config, progress, cancel)`.

Deterministic seeds; CUDA and mixed precision when present; DDP when started by torchrun; resume
from the last atomic checkpoint; early stopping on the validation metric; progress as dict events
(the CLI prints them as JSON lines) and history.jsonl in the output folder.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from engine.prompt_tokens import PromptTokenizer
from training.data import (
    STRUCTURE_CLASSES,
    UNKNOWN_GRADE,
    PromptSample,
    spider_samples,
    split_by_group,
    synthetic_samples,
)
from training.data.dataset import (
    BalancedEpochSampler,
    PromptCollator,
    PromptSegmentationDataset,
    grade_balancing_weights,
)
from training.losses import AdaptivePIDTverskyLoss, create_loss
from training.models import PromptSegmentationModel, create_model, load_model_config
from training.models.config import ModelConfig
from training.trainer.checkpoints import (
    load_latest_checkpoint,
    save_checkpoint,
    save_model_folder,
    write_json_atomic,
)
from training.trainer.config import TrainConfig
from training.trainer.initial_model import load_initial_model

ProgressCallback = Callable[[dict[str, Any]], None]
STRUCTURE_NAMES: tuple[str, ...] = tuple(s.value for s in STRUCTURE_CLASSES)


@dataclass(frozen=True)
class TrainResult:
    """What a run produced. stopped_reason: completed, early_stopping, cancelled, max_steps, time_budget."""

    output_dir: Path
    best_model_dir: Path | None
    last_checkpoint: Path | None
    epochs_completed: int
    global_step: int
    stopped_reason: str
    best_metric: float | None
    validation: dict[str, Any] = field(default_factory=dict)
    pack_dir: Path | None = None


@dataclass
class _Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return tensor
        reduced = tensor.clone()
        dist.all_reduce(reduced, op=dist.ReduceOp.SUM)
        return reduced


def _start_distributed(device_type: str) -> _Distributed:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return _Distributed()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return _Distributed(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _resolve_device(config: TrainConfig) -> torch.device:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training config asks for device 'cuda' but CUDA is not available")
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    return torch.device("cuda") if use_cuda else torch.device("cpu")


def _resolve_tokenizer(config: TrainConfig, model_config: ModelConfig, output_dir: Path) -> Path:
    if model_config.text.type == "open_clip":
        if not model_config.open_clip.local_dir:
            raise ValueError("open_clip text tower: set model_overrides.open_clip.local_dir")
        return Path(model_config.open_clip.local_dir) / "tokenizer.json"
    if config.tokenizer_file:
        path = Path(config.tokenizer_file)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer_file not found: {path}")
        return path
    path = output_dir / "tokenizer.json"
    if not path.is_file():
        from training.text.tokenizer_training import train_prompt_tokenizer

        notes = Path(config.notes_csv) if config.notes_csv else None
        train_prompt_tokenizer(path, notes, vocab_size=model_config.text.vocab_size)
    return path


def load_training_samples(
    config: TrainConfig, site_tallies: dict[str, Any] | None = None
) -> tuple[list[PromptSample], list[PromptSample]]:
    """(train, validation) samples: each source is split by patient/study on its own.

    site_tallies: filled with each site folder's target counts (masks, pseudo-masks, rejections).
    Raises training.site_data.SiteDataError when a site folder has blocking problems.
    """
    data = config.data
    sources: list[list[PromptSample]] = []
    if data.spider_root:
        sources.append(spider_samples(Path(data.spider_root), data.spider_spacing_mm))
    for root in data.synthetic_roots:
        sources.append(synthetic_samples(Path(root), data.grade_max_distance_mm))
    for root in data.site_roots:
        from training.site_data import site_samples

        samples, tally = site_samples(Path(root), data.use_pseudo_masks)
        if site_tallies is not None:
            site_tallies[str(root)] = tally
        if not samples:
            raise ValueError(
                f"site-data folder {root}: no labelled level has a mask or an accepted pseudo-mask"
            )
        sources.append(samples)
    train: list[PromptSample] = []
    held_out: list[PromptSample] = []
    for samples in sources:
        samples = [s for s in samples if s.source.plane in data.planes]
        part_train, part_held = split_by_group(samples, data.held_out_fraction, data.split_seed)
        train += part_train
        held_out += part_held
    if not train:
        raise ValueError("no training sample: check the data folders of the training config")
    return train, held_out


def _learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    """Linear warm-up, then cosine decay to min_learning_rate (a pure function of the step: no state)."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = min((step - config.warmup_steps) / max(total_steps - config.warmup_steps, 1), 1.0)
    return config.min_learning_rate + 0.5 * (config.learning_rate - config.min_learning_rate) * (
        1 + math.cos(math.pi * progress)
    )


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases, norms and position embeddings; the grade head's groups carry
    lr_scale = grade_head_lr_scale (it learns from the few graded samples of each batch)."""
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        decays = not (parameter.ndim < 2 or "pos_embed" in name)
        in_grade_head = name.startswith(("grade_head.", "module.grade_head."))
        groups.setdefault((decays, in_grade_head), []).append(parameter)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "weight_decay": config.weight_decay if decays else 0.0,
                "lr_scale": config.grade_head_lr_scale if in_grade_head else 1.0,
            }
            for (decays, in_grade_head), params in sorted(groups.items())
        ],
        lr=config.learning_rate,
    )


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()
    }


def _explanation_loss(explanation: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """BCE between the explanation (B, gh, gw) in [0, 1] and the mask's coverage of each patch."""
    rows, cols = explanation.shape[-2:]
    coverage = F.adaptive_avg_pool2d(mask.float(), (int(rows), int(cols)))[:, 0]
    return F.binary_cross_entropy(explanation.float().clamp(1e-6, 1 - 1e-6), coverage)


def _grade_loss(grade_logits: torch.Tensor, grades: torch.Tensor) -> torch.Tensor:
    graded = grades != UNKNOWN_GRADE
    if not bool(graded.any()):
        return grade_logits.sum() * 0.0 + 0.0  # keeps the grade head in the graph for DDP; +0 avoids -0.0
    return F.cross_entropy(grade_logits[graded].float(), grades[graded])


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device, distributed: _Distributed | None = None
) -> dict[str, Any]:
    """Per-slice Dice (threshold 0.5; empty target and prediction count as 1) averaged per structure,
    and grade accuracy overall and per grade, on the loader's samples."""
    model.eval()
    classes, grades = len(STRUCTURE_CLASSES), 4
    sums = torch.zeros(2 * classes + 2 * grades, dtype=torch.float64, device=device)
    for batch in loader:
        batch = _to_device(batch, device)
        out = model(batch["image"], batch["input_ids"], batch["attention_mask"], batch["content_mask"])
        predicted = (out.mask_logits.float() > 0).float().flatten(1)
        target = batch["mask"].flatten(1)
        intersection = (predicted * target).sum(1)
        total = predicted.sum(1) + target.sum(1)
        dice = torch.where(total > 0, 2 * intersection / total.clamp_min(1), torch.ones_like(total))
        index = batch["class_index"]
        sums[:classes].index_add_(0, index, dice.double())
        sums[classes : 2 * classes].index_add_(0, index, torch.ones_like(dice, dtype=torch.float64))
        graded = batch["grade"] != UNKNOWN_GRADE
        if bool(graded.any()):
            truth = batch["grade"][graded]
            correct = (out.grade_logits[graded].argmax(1) == truth).double()
            sums[2 * classes : 2 * classes + grades].index_add_(0, truth, correct)
            sums[2 * classes + grades :].index_add_(0, truth, torch.ones_like(correct))
    if distributed is not None:
        sums = distributed.all_reduce_sum(sums)
    sums = sums.cpu()
    dice_sum, dice_count = sums[:classes], sums[classes : 2 * classes]
    correct, seen = sums[2 * classes : 2 * classes + grades], sums[2 * classes + grades :]
    per_class = {
        STRUCTURE_NAMES[c]: float(dice_sum[c] / dice_count[c]) for c in range(classes) if dice_count[c] > 0
    }
    metrics: dict[str, Any] = {"dice": per_class, "samples": int(dice_count.sum())}
    metrics["mean_dice"] = float(np.mean(list(per_class.values()))) if per_class else None
    if seen.sum() > 0:
        metrics["grade_accuracy"] = float(correct.sum() / seen.sum())
        metrics["grade_accuracy_per_grade"] = {
            "ABCD"[g]: float(correct[g] / seen[g]) for g in range(grades) if seen[g] > 0
        }
        metrics["graded_samples"] = int(seen.sum())
    return metrics


def selection_metric(metrics: dict[str, Any]) -> float | None:
    """Mean Dice, averaged with grade accuracy when the validation set has graded samples."""
    if metrics.get("mean_dice") is None:
        return None
    if "grade_accuracy" in metrics:
        return 0.5 * (metrics["mean_dice"] + metrics["grade_accuracy"])
    return float(metrics["mean_dice"])


def _controller_summary(step: Any) -> dict[str, Any]:
    return {
        "alpha": dict(zip(STRUCTURE_NAMES, step.alpha, strict=True)),
        "beta": dict(zip(STRUCTURE_NAMES, step.beta, strict=True)),
        "error": dict(zip(STRUCTURE_NAMES, step.error, strict=True)),
        "weights": dict(zip(STRUCTURE_NAMES, step.weights, strict=True)),
    }


class _Run:
    """State of one run; split out of train() to keep each phase readable."""

    def __init__(
        self, config: TrainConfig, progress: ProgressCallback | None, cancel: threading.Event | None
    ) -> None:
        self.config = config
        self.progress = progress
        self.cancel = cancel
        self.output_dir = Path(config.output_dir)
        self.device = _resolve_device(config)
        self.distributed = _start_distributed(self.device.type)
        if self.distributed.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.distributed.local_rank)
            torch.cuda.set_device(self.device)
        _seed_everything(config.seed)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        initial = (
            load_initial_model(Path(config.init_from), config.model_overrides) if config.init_from else None
        )
        model_config = (
            initial.config if initial is not None else load_model_config(config.model, config.model_overrides)
        )
        if initial is not None:
            self.tokenizer_file: Path | None = initial.tokenizer_file
        else:
            self.tokenizer_file = (
                _resolve_tokenizer(config, model_config, self.output_dir)
                if self.distributed.is_main
                else None
            )
            if self.distributed.enabled:
                dist.barrier()
                self.tokenizer_file = _resolve_tokenizer(config, model_config, self.output_dir)
        assert self.tokenizer_file is not None
        tokenizer = PromptTokenizer(
            self.tokenizer_file, model_config.text.max_length, model_config.text.pad_token
        )
        if model_config.text.type == "transformer" and tokenizer.vocab_size > model_config.text.vocab_size:
            raise ValueError(
                f"tokenizer {self.tokenizer_file} has {tokenizer.vocab_size} tokens, more than the model's "
                f"vocab_size {model_config.text.vocab_size}"
            )
        self.model_config = model_config
        self.model: PromptSegmentationModel = create_model(model_config)[0]
        if initial is not None:
            self.model.load_state_dict(initial.weights)
        self.model = self.model.to(self.device)
        self.module: nn.Module = self.model
        if self.distributed.enabled:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.module = nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        self._build_data(tokenizer)
        self.loss = create_loss(config.loss, len(STRUCTURE_CLASSES), config.loss_options).to(self.device)
        self.optimizer = _optimizer(self.model, config)
        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.best_metric: float | None = None
        self.best_validation: dict[str, Any] = {}
        self.epochs_without_improvement = 0
        self.elapsed_before = 0.0
        self.last_checkpoint: Path | None = None
        # Sum of the step losses of this epoch on this process, kept on the device (no sync per step).
        self.epoch_loss_sum = torch.zeros((), device=self.device)
        self.epoch_loss_steps = 0

    def _amp_dtype(self) -> torch.dtype | None:
        if not (self.config.amp and self.device.type == "cuda"):
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    def _build_data(self, tokenizer: PromptTokenizer) -> None:
        config, data = self.config, self.config.data
        site_tallies: dict[str, Any] = {}
        train, held_out = load_training_samples(config, site_tallies)
        if site_tallies and self.distributed.is_main:
            write_json_atomic(self.output_dir / "site_targets.json", site_tallies)
        preprocessing = self.model_config.preprocessing
        self.train_set = PromptSegmentationDataset(
            train, preprocessing, data.augmentation, config.seed, data.cache_slices
        )
        weights = (
            grade_balancing_weights(train, data.graded_share) if data.balance_grades else np.ones(len(train))
        )
        self.sampler = BalancedEpochSampler(
            weights,
            data.samples_per_epoch or len(train),
            config.seed,
            self.distributed.rank,
            self.distributed.world_size,
        )
        collate = PromptCollator(tokenizer)
        loader_options: dict[str, Any] = {
            "num_workers": data.num_workers,
            "collate_fn": collate,
            "pin_memory": self.device.type == "cuda",
        }
        if data.num_workers > 0:
            loader_options["persistent_workers"] = True
        self.train_loader = DataLoader(
            self.train_set,
            batch_size=config.batch_size,
            sampler=self.sampler,
            drop_last=False,
            **loader_options,
        )
        self.val_loader: DataLoader | None = None
        if held_out:
            shard = held_out[self.distributed.rank :: self.distributed.world_size]
            val_set = PromptSegmentationDataset(
                shard or held_out[:1], preprocessing, None, config.seed, data.cache_slices
            )
            self.val_loader = DataLoader(
                val_set, batch_size=config.batch_size, shuffle=False, **loader_options
            )
        self.steps_per_epoch = len(self.train_loader)
        self.total_steps = self.steps_per_epoch * config.epochs
        if self.distributed.is_main:
            write_json_atomic(
                self.output_dir / "split.json",
                {
                    "train_groups": sorted({s.source.group for s in train}),
                    "held_out_groups": sorted({s.source.group for s in held_out}),
                    "train_samples": len(train),
                    "held_out_samples": len(held_out),
                },
            )

    # -- checkpoints -------------------------------------------------------------------------
    def _trainer_state(self) -> dict[str, Any]:
        controller = self.loss.controller_state() if isinstance(self.loss, AdaptivePIDTverskyLoss) else None
        return {
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best_metric": self.best_metric,
            "best_validation": self.best_validation,
            "epochs_without_improvement": self.epochs_without_improvement,
            "elapsed_s": self.elapsed_before + (time.monotonic() - self.started),
            "loss_controller": controller,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "config": self.config.to_dict(),
        }

    def save(self) -> None:
        if self.distributed.is_main:
            self.last_checkpoint = save_checkpoint(
                self.output_dir / "checkpoints",
                self.global_step,
                self.model.state_dict(),
                self.optimizer.state_dict(),
                self._trainer_state(),
            )
        if self.distributed.enabled:
            dist.barrier()

    def resume(self) -> bool:
        if not self.config.resume:
            return False
        loaded = load_latest_checkpoint(self.output_dir / "checkpoints")
        if loaded is None:
            return False
        self.model.load_state_dict(loaded.model_state)
        self.optimizer.load_state_dict(loaded.optimizer_state)
        state = loaded.state
        self.epoch = int(state["epoch"])
        self.step_in_epoch = int(state["step_in_epoch"])
        self.global_step = int(state["global_step"])
        self.best_metric = state["best_metric"]
        self.best_validation = state.get("best_validation", {})
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        self.elapsed_before = float(state.get("elapsed_s", 0.0))
        if isinstance(self.loss, AdaptivePIDTverskyLoss) and state.get("loss_controller"):
            self.loss.load_controller_state(state["loss_controller"])
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        self.last_checkpoint = loaded.path
        self._emit(
            {
                "event": "resumed",
                "checkpoint": loaded.path.name,
                "epoch": self.epoch,
                "global_step": self.global_step,
            }
        )
        return True

    def save_best(self, metrics: dict[str, Any]) -> None:
        if not self.distributed.is_main:
            return
        metadata = {
            "model_config": self.model_config.to_dict(),
            "tokenizer_file": "tokenizer.json",
            "validation": metrics,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "loss": self.config.loss,
            "train_config": self.config.to_dict(),
        }
        assert self.tokenizer_file is not None
        save_model_folder(
            self.output_dir / "best",
            self.model.state_dict(),
            metadata,
            {"tokenizer.json": self.tokenizer_file},
        )

    # -- progress ----------------------------------------------------------------------------
    def _emit(self, event: dict[str, Any]) -> None:
        if not self.distributed.is_main:
            return
        if self.progress is not None:
            self.progress(event)
        if event["event"] in ("epoch", "finished", "resumed"):
            with (self.output_dir / "history.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(event) + "\n")

    def _eta_s(self, steps_done_this_run: int) -> float | None:
        if steps_done_this_run == 0:
            return None
        per_step = (time.monotonic() - self.started) / steps_done_this_run
        remaining = max(self.total_steps - self.global_step, 0) * per_step
        if self.config.max_minutes is not None:
            budget_left = self.config.max_minutes * 60 - (
                self.elapsed_before + time.monotonic() - self.started
            )
            remaining = min(remaining, max(budget_left, 0.0))
        return round(remaining, 1)

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> TrainResult:
        self.started = time.monotonic()
        self._steps_this_run = 0
        self.resume()
        self._emit(
            {
                "event": "started",
                "device": str(self.device),
                "world_size": self.distributed.world_size,
                "amp": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else None,
                "train_samples": len(self.train_set),
                "steps_per_epoch": self.steps_per_epoch,
                "parameters": sum(p.numel() for p in self.model.parameters()),
            }
        )
        stopped = "completed"
        while self.epoch < self.config.epochs:
            outcome = self._train_epoch()
            if outcome == "epoch_done":
                outcome = self._end_epoch()
            if outcome != "continue":
                stopped = outcome
                break
        best_dir = self.output_dir / "best"
        if self.val_loader is None and self.distributed.is_main and self.global_step > 0:
            self.save_best({})
        pack_dir = (
            self._export() if stopped in ("completed", "early_stopping", "time_budget", "max_steps") else None
        )
        self._emit(
            {
                "event": "finished",
                "stopped_reason": stopped,
                "epochs_completed": self.epoch,
                "global_step": self.global_step,
                "best_metric": self.best_metric,
                "best_validation": self.best_validation,
            }
        )
        return TrainResult(
            output_dir=self.output_dir,
            best_model_dir=best_dir if best_dir.is_dir() else None,
            last_checkpoint=self.last_checkpoint,
            epochs_completed=self.epoch,
            global_step=self.global_step,
            stopped_reason=stopped,
            best_metric=self.best_metric,
            validation=self.best_validation,
            pack_dir=pack_dir,
        )

    def _train_epoch(self) -> str:
        config = self.config
        self.sampler.set_epoch(self.epoch)
        self.train_set.set_epoch(self.epoch)
        torch.manual_seed(config.seed * 1_000_003 + self.epoch)
        self.module.train()
        self.loss.train()
        if self.step_in_epoch == 0 and isinstance(self.loss, AdaptivePIDTverskyLoss):
            self.loss.reset_epoch_counts()
        for index, batch in enumerate(self.train_loader):
            if index < self.step_in_epoch:
                continue  # resumed inside this epoch: the sampler replays the same order
            self._train_step(_to_device(batch, self.device))
            self.step_in_epoch = index + 1
            self._steps_this_run += 1
            if self.cancel is not None and self.cancel.is_set():
                self.save()
                return "cancelled"
            if config.max_steps is not None and self.global_step >= config.max_steps:
                self.save()
                return "max_steps"
            if (
                config.max_minutes is not None
                and self.elapsed_before + time.monotonic() - self.started > config.max_minutes * 60
            ):
                self.save()
                return "time_budget"
            if config.checkpoint_every_steps and self.global_step % config.checkpoint_every_steps == 0:
                self.save()
        return "epoch_done"

    def _train_step(self, batch: dict[str, Any]) -> None:
        config = self.config
        lr = _learning_rate(config, self.global_step, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        autocast = torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)
        with autocast:
            out = self.module(
                batch["image"], batch["input_ids"], batch["attention_mask"], batch["content_mask"]
            )
        segmentation = self.loss(out.mask_logits.float(), batch["mask"], batch["class_index"])
        grade = _grade_loss(out.grade_logits, batch["grade"])
        explanation = _explanation_loss(out.explanation, batch["mask"])
        total = segmentation + config.grade_loss_weight * grade + config.explanation_loss_weight * explanation
        self.epoch_loss_sum += total.detach().float()
        self.epoch_loss_steps += 1
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if config.gradient_clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), config.gradient_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.global_step += 1
        if self.global_step % max(config.log_every_steps, 1) == 0 or self.global_step == 1:
            self._emit(
                {
                    "event": "step",
                    "epoch": self.epoch + 1,
                    "step": self.step_in_epoch + 1,
                    "steps_per_epoch": self.steps_per_epoch,
                    "global_step": self.global_step,
                    "loss": round(total.item(), 5),
                    "segmentation_loss": round(segmentation.item(), 5),
                    "grade_loss": round(grade.item(), 5),
                    "explanation_loss": round(explanation.item(), 5),
                    "learning_rate": lr,
                    "eta_s": self._eta_s(self._steps_this_run + 1),
                }
            )

    def _end_epoch(self) -> str:
        controller = None
        if isinstance(self.loss, AdaptivePIDTverskyLoss):
            controller = _controller_summary(self.loss.end_epoch(self.distributed.all_reduce_sum))
        # The bare model: DDP forward broadcasts buffers, and ranks may hold different numbers of batches.
        metrics = (
            evaluate(self.model, self.val_loader, self.device, self.distributed) if self.val_loader else {}
        )
        train_loss = (
            round(float(self.epoch_loss_sum) / self.epoch_loss_steps, 6) if self.epoch_loss_steps else None
        )
        self.epoch_loss_sum.zero_()
        self.epoch_loss_steps = 0
        self.epoch += 1
        self.step_in_epoch = 0
        metric = selection_metric(metrics) if metrics else None
        improved = metric is not None and (self.best_metric is None or metric > self.best_metric)
        if improved:
            self.best_metric = metric
            self.best_validation = metrics
            self.epochs_without_improvement = 0
            self.save_best(metrics)
        elif metric is not None:
            self.epochs_without_improvement += 1
        self._emit(
            {
                "event": "epoch",
                "epoch": self.epoch,
                "global_step": self.global_step,
                "train_loss": train_loss,
                "validation": metrics,
                "selection_metric": metric,
                "improved": improved,
                "controller": controller,
                "elapsed_s": round(self.elapsed_before + time.monotonic() - self.started, 1),
                "eta_s": self._eta_s(self._steps_this_run),
            }
        )
        self.save()
        patience = self.config.early_stopping_patience
        if patience and self.epochs_without_improvement >= patience:
            return "early_stopping"
        return "continue"

    def _export(self) -> Path | None:
        export = self.config.export
        if not export.pack_dir or not self.distributed.is_main or not (self.output_dir / "best").is_dir():
            return None
        from training.export import export_model_pack

        return export_model_pack(
            self.output_dir / "best",
            Path(export.pack_dir),
            export.pack_name,
            export.pack_version,
            export.opset,
            export.include_weights,
        )


def train(
    config: TrainConfig, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
) -> TrainResult:
    """Train (or resume) the model a TrainConfig describes; see TrainResult for what comes back.

    progress: called on the main process with dict events ('started', 'step', 'epoch', 'resumed',
    'finished'); cancel: set it to stop after the current step (a checkpoint is written first).
    """
    run = _Run(config, progress, cancel)
    try:
        return run.run()
    finally:
        if run.distributed.enabled and dist.is_initialized():
            dist.destroy_process_group()

"""Second stage of training: the grade head fitted on the frozen model's features.

In a CPU-budget run the segmentation learns well, but the grade head sees only the few graded
prompts of each batch while the features under it still move, and it does not settle. Once the
model is trained, the features of every graded training sample are computed once (fused tokens,
patch tokens, mask logits) and only the grade head is optimised on them (full batch, classes
weighted by inverse frequency), keeping the state with the best held-out grade accuracy. The rest
of the model is untouched, so segmentation metrics do not change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch.utils.data import DataLoader

from engine.prompt_tokens import PromptTokenizer
from training.data.dataset import PromptCollator, PromptSegmentationDataset
from training.data.samples import UNKNOWN_GRADE, PromptSample
from training.models.prompt_segmenter import PromptSegmentationModel

logger = logging.getLogger(__name__)
GRADE_HEAD_FIT_FILE = "grade_head_fit.json"


def _features(
    model: PromptSegmentationModel, samples: Sequence[PromptSample], tokenizer: PromptTokenizer
) -> dict[str, torch.Tensor]:
    dataset = PromptSegmentationDataset(samples, model.config.preprocessing)
    loader = DataLoader(dataset, batch_size=32, shuffle=False, collate_fn=PromptCollator(tokenizer))
    parts: dict[str, list[torch.Tensor]] = {"fused": [], "patch": [], "mask": [], "grade": []}
    with torch.no_grad():
        for batch in loader:
            patch, skips = model.encode_image(batch["image"])
            text = model.encode_text(batch["input_ids"], batch["attention_mask"])
            fused, _ = model.fusion(patch, text, batch["attention_mask"], batch["content_mask"])
            out = model.decode(patch, skips, text, batch["attention_mask"], batch["content_mask"])
            parts["fused"].append(fused)
            parts["patch"].append(patch)
            parts["mask"].append(out.mask_logits)
            parts["grade"].append(batch["grade"])
    return {k: torch.cat(v) for k, v in parts.items()}


def _accuracy(model: PromptSegmentationModel, features: dict[str, torch.Tensor]) -> float:
    with torch.no_grad():
        logits = model.grade_head(features["fused"], features["patch"], features["mask"])
    return float((logits.argmax(1) == features["grade"]).float().mean())


def _grade_metrics(model: PromptSegmentationModel, features: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The grade entries of the trainer's validation metrics (training.trainer.loop.evaluate)."""
    with torch.no_grad():
        predicted = model.grade_head(features["fused"], features["patch"], features["mask"]).argmax(1)
    truth = features["grade"]
    names = model.config.grade_head.grades
    return {
        "grade_accuracy": float((predicted == truth).float().mean()),
        "grade_accuracy_per_grade": {
            names[g]: float((predicted[truth == g] == g).float().mean())
            for g in range(len(names))
            if bool((truth == g).any())
        },
        "graded_samples": int(truth.numel()),
    }


def fit_grade_head(
    model_dir: Path,
    train: Sequence[PromptSample],
    held_out: Sequence[PromptSample],
    steps: int = 400,
    learning_rate: float = 1e-2,
    seed: int = 0,
) -> dict[str, Any]:
    """Refit the grade head of the trained model in model_dir (best/) in place; returns a summary
    (also written to model_dir/grade_head_fit.json)."""
    from training.export import load_trained_model

    train = [s for s in train if s.grade != UNKNOWN_GRADE]
    held_out = [s for s in held_out if s.grade != UNKNOWN_GRADE]
    if not train or not held_out:
        raise ValueError("fitting the grade head needs graded samples in training and held-out data")
    torch.manual_seed(seed)
    model, metadata = load_trained_model(model_dir)
    text = model.config.text
    tokenizer = PromptTokenizer(
        model_dir / metadata.get("tokenizer_file", "tokenizer.json"), text.max_length, text.pad_token
    )
    fit, check = _features(model, train, tokenizer), _features(model, held_out, tokenizer)
    counts = torch.bincount(fit["grade"], minlength=len(model.config.grade_head.grades)).float()
    class_weights = counts.sum() / counts.clamp_min(1.0) / len(counts)
    head = model.grade_head
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for parameter in head.parameters():
        parameter.requires_grad_(True)
    optimizer = torch.optim.AdamW(head.parameters(), lr=learning_rate, weight_decay=0.01)
    before = _accuracy(model, check)
    best_accuracy, best_state, best_step = before, {k: v.clone() for k, v in head.state_dict().items()}, 0
    for step in range(1, steps + 1):
        logits = head(fit["fused"], fit["patch"], fit["mask"])
        loss = F.cross_entropy(logits, fit["grade"], weight=class_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 10 == 0:
            accuracy = _accuracy(model, check)
            if accuracy > best_accuracy:
                best_accuracy, best_step = accuracy, step
                best_state = {k: v.clone() for k, v in head.state_dict().items()}
    head.load_state_dict(best_state)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(model_dir / "model.safetensors")
    )
    summary = {
        "train_graded_samples": len(train),
        "held_out_graded_samples": len(held_out),
        "held_out_grade_accuracy_before": before,
        "held_out_grade_accuracy_after": best_accuracy,
        "best_step": best_step,
        "steps": steps,
        "learning_rate": learning_rate,
    }
    metadata["validation"] = {**metadata.get("validation", {}), **_grade_metrics(model, check)}
    metadata["grade_head_fit"] = summary
    (model_dir / "model.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    (model_dir / GRADE_HEAD_FIT_FILE).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    logger.info("grade head refitted: held-out accuracy %.3f -> %.3f", before, best_accuracy)
    return summary

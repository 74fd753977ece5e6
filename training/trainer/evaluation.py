"""Evaluate a trained model folder (best/) on data it never saw, e.g. a synthetic test split:

    python -m training.trainer.evaluation --model-dir OUT/best --synthetic-root TEST_STUDIES
    python -m training.trainer.evaluation --model-dir OUT/best --spider-root SPIDER --held-out-of OUT

--held-out-of keeps only the patients/studies that run's split.json held out (its validation split).
Prints one JSON object: per-structure Dice, mean Dice, grade accuracy overall and per grade.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from engine.prompt_tokens import PromptTokenizer
from training.data import PromptSample, spider_samples, synthetic_samples
from training.data.dataset import PromptCollator, PromptSegmentationDataset
from training.export import load_trained_model
from training.trainer.loop import evaluate


def evaluate_model_folder(
    model_dir: Path, samples: Sequence[PromptSample], batch_size: int = 16
) -> dict[str, Any]:
    """Metrics of the model in model_dir on the samples (deterministic preprocessing, no augmentation)."""
    if not samples:
        raise ValueError("no sample to evaluate on")
    model, metadata = load_trained_model(model_dir)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    text = model.config.text
    tokenizer = PromptTokenizer(
        model_dir / metadata.get("tokenizer_file", "tokenizer.json"), text.max_length, text.pad_token
    )
    dataset = PromptSegmentationDataset(samples, model.config.preprocessing)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=PromptCollator(tokenizer))
    return evaluate(model.to(device), loader, device)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate a trained model folder on held-out data.")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--synthetic-root", type=Path, action="append", default=[])
    parser.add_argument("--spider-root", type=Path)
    parser.add_argument("--spider-spacing-mm", type=float, default=0.46875)
    parser.add_argument(
        "--held-out-of", type=Path, help="a training output folder: keep only its held-out groups"
    )
    args = parser.parse_args(argv)
    samples: list[PromptSample] = []
    if args.spider_root:
        samples += spider_samples(args.spider_root, args.spider_spacing_mm)
    for root in args.synthetic_root:
        samples += synthetic_samples(root)
    if args.held_out_of:
        groups = set(
            json.loads((args.held_out_of / "split.json").read_text(encoding="utf-8"))["held_out_groups"]
        )
        samples = [s for s in samples if s.source.group in groups]
    print(json.dumps(evaluate_model_folder(args.model_dir, samples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

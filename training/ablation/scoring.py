"""Score a trained model folder on the ablation's test studies: one SegmentationCase per axial
sample (dural sac at a level, posterior epidural fat), on the model's input grid."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from engine.evaluation import SegmentationCase, dice_and_iou
from engine.prompt_tokens import PromptTokenizer
from training.data import UNKNOWN_GRADE, PromptSample, synthetic_samples
from training.data.dataset import PromptCollator, PromptSegmentationDataset
from training.export import load_trained_model

GRADE_NAMES = "ABCD"


def axial_test_samples(test_root: Path, grade_max_distance_mm: float = 4.0) -> list[PromptSample]:
    """The axial samples of the test studies (graded where the slice is within the distance of its disc)."""
    return [s for s in synthetic_samples(test_root, grade_max_distance_mm) if s.source.plane == "axial"]


@torch.no_grad()
def score_model_folder(
    model_dir: Path, dataset: PromptSegmentationDataset, batch_size: int = 32
) -> list[tuple[SegmentationCase, dict[str, int]]]:
    """Cases (cluster = study) with Dice/IoU of the thresholded mask (logit > 0), each with its pixel
    counts {"tp", "fp", "fn"} (for under- and over-segmentation per grade).

    dataset: the test samples without augmentation, built with the model's preprocessing (shared
    across models so each slice is denoised once).
    """
    model, metadata = load_trained_model(model_dir)
    if model.config.preprocessing != dataset.preprocessing:
        raise ValueError(f"{model_dir}: the model's preprocessing differs from the test dataset's")
    if dataset.augmentation is not None:
        raise ValueError("the test dataset must not be augmented")
    samples = dataset.samples
    text = model.config.text
    tokenizer = PromptTokenizer(
        model_dir / metadata.get("tokenizer_file", "tokenizer.json"), text.max_length, text.pad_token
    )
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=PromptCollator(tokenizer))
    cases: list[tuple[SegmentationCase, dict[str, int]]] = []
    index = 0
    for batch in loader:
        out = model(batch["image"], batch["input_ids"], batch["attention_mask"], batch["content_mask"])
        predicted = (out.mask_logits[:, 0] > 0).numpy()
        target = batch["mask"][:, 0].numpy() > 0.5
        for row in range(predicted.shape[0]):
            sample = samples[index]
            index += 1
            dice, iou = dice_and_iou(predicted[row], target[row])
            overlap = int((predicted[row] & target[row]).sum())
            counts = {
                "tp": overlap,
                "fp": int(predicted[row].sum()) - overlap,
                "fn": int(target[row].sum()) - overlap,
            }
            case = (
                SegmentationCase(
                    case_id=f"{sample.source.key}|{sample.prompt.text}",
                    cluster_id=sample.source.group,
                    structure=sample.prompt.structure.value,
                    grade=None if sample.grade == UNKNOWN_GRADE else GRADE_NAMES[sample.grade],
                    dice=dice,
                    iou=iou,
                ),
                counts,
            )
            cases.append(case)
    return cases

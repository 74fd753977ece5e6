"""SPIDER sagittal PNG slices (van der Graaf et al., Sci Data 11, 264 (2024), CC BY 4.0).

Folder layout: slices_manifest.csv (columns image, mask, spider_patient), images/*.png, masks/*.png
with 29 intervertebral disc, 76 vertebra, 150 spinal canal.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.findings import Structure
from engine.prompt_vocabulary import SAGITTAL_STRUCTURES, prompt_for
from engine.study.model import Orientation
from training.data.samples import UNKNOWN_GRADE, PromptSample, SliceSource, mask_centroid

SPIDER_LABELS: dict[Structure, int] = {
    Structure.INTERVERTEBRAL_DISC: 29,
    Structure.VERTEBRA: 76,
    Structure.SPINAL_CANAL: 150,
}
# The PNGs keep SPIDER's in-plane sampling closely (vertebral bodies measure ~27 mm at this value).
SPIDER_PNG_SPACING_MM = 0.46875


@dataclass(frozen=True)
class PngSliceReader:
    image_path: Path
    mask_path: Path

    def pixels(self) -> np.ndarray:
        return _read_png(self.image_path)

    def labels(self) -> np.ndarray:
        return _read_png(self.mask_path)


def _read_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def spider_samples(root: Path, spacing_mm: float = SPIDER_PNG_SPACING_MM) -> list[PromptSample]:
    """One sample per slice and sagittal structure, grouped by SPIDER patient, centred on the canal."""
    manifest = root / "slices_manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"SPIDER folder {root} has no slices_manifest.csv")
    samples = []
    with manifest.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                reader = PngSliceReader(root / row["image"], root / row["mask"])
                group = f"spider-{row['spider_patient']}"
            except KeyError as exc:
                raise ValueError(f"{manifest}:{line}: missing column {exc}") from exc
            source = SliceSource(Path(row["image"]).stem, group, "sagittal", (spacing_mm, spacing_mm), reader)
            centre = mask_centroid(reader.labels() == SPIDER_LABELS[Structure.SPINAL_CANAL])
            for structure in SAGITTAL_STRUCTURES:
                prompt = prompt_for(structure, Orientation.SAGITTAL)
                samples.append(
                    PromptSample(source, prompt, (SPIDER_LABELS[structure],), UNKNOWN_GRADE, centre)
                )
    return samples

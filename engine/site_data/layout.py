"""The site-data folder layout (training/site_data/FORMAT.md) and its optional site.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.findings import Structure

LABELS_FILE = "labels.csv"
SITE_FILE = "site.json"
STUDIES_DIR = "studies"
MASKS_DIR = "masks"
REPORTS_DIR = "reports"
LEVELS_DIR = "levels"
NIFTI_SUFFIXES = (".nii.gz", ".nii")

# Label values of NIfTI masks when site.json declares none: the two axial structures grading needs.
DEFAULT_MASK_LABELS: dict[str, tuple[int, ...]] = {
    Structure.DURAL_SAC.value: (1,),
    Structure.POSTERIOR_EPIDURAL_FAT.value: (2,),
}


@dataclass(frozen=True)
class SiteConfig:
    """site.json: name (free text) and mask_labels, structure name -> NIfTI label values (a structure
    may be the union of several labels, e.g. the spinal canal)."""

    name: str = ""
    mask_labels: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(DEFAULT_MASK_LABELS))


def read_site_config(root: Path) -> SiteConfig:
    """site.json of a site folder (defaults when absent). Raises ValueError naming the file and field."""
    path = root / SITE_FILE
    if not path.is_file():
        return SiteConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{SITE_FILE}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{SITE_FILE}: must be a JSON object")
    known = {s.value for s in Structure}
    labels = data.get("mask_labels", {name: list(ids) for name, ids in DEFAULT_MASK_LABELS.items()})
    if not isinstance(labels, dict):
        raise ValueError(f"{SITE_FILE}: mask_labels must map structure names to label values")
    mask_labels: dict[str, tuple[int, ...]] = {}
    for name, ids in labels.items():
        if name not in known:
            raise ValueError(
                f"{SITE_FILE}: mask_labels names {name!r}, not one of {', '.join(sorted(known))}"
            )
        values = [ids] if isinstance(ids, int) else ids
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, int) and v > 0 for v in values)
        ):
            raise ValueError(f"{SITE_FILE}: mask_labels[{name!r}] must be positive integers")
        mask_labels[name] = tuple(values)
    return SiteConfig(name=str(data.get("name", "")), mask_labels=mask_labels)


def study_folders(root: Path) -> list[Path]:
    """The study folders under studies/ (one per study), sorted by name."""
    base = root / STUDIES_DIR
    return (
        sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
        if base.is_dir()
        else []
    )


def report_file(root: Path, study_id: str) -> Path:
    return root / REPORTS_DIR / f"{study_id}.txt"


def levels_file(root: Path, study_id: str) -> Path:
    return root / LEVELS_DIR / f"{study_id}.json"


def mask_files(root: Path, study_id: str) -> list[Path]:
    """NIfTI and DICOM SEG files under masks/<study_id>/."""
    base = root / MASKS_DIR / study_id
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []

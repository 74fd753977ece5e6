"""A site-data folder made from synthetic studies (engine.synthetic_study): the demo and test data
of the fine-tuning path, in exactly the format a site delivers (training/site_data/FORMAT.md).

Per study: studies/<id>/ (the DICOM files, copied), a labels.csv row per level (the true grade and
DSCA), masks/<id>/<SeriesInstanceUID>.nii.gz for the axial series (1 dural sac, 2 posterior
epidural fat), reports/<id>.txt (the reference report) and levels/<id>.json (disc centres and
normals). Masks, reports and levels can each be left out to mimic sites that have less.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.findings import Structure
from engine.site_data.layout import (
    DEFAULT_MASK_LABELS,
    LABELS_FILE,
    LEVELS_DIR,
    MASKS_DIR,
    REPORTS_DIR,
    SITE_FILE,
    STUDIES_DIR,
)


def write_synthetic_site(
    out_dir: Path,
    study_roots: Sequence[Path],
    *,
    masks: bool = True,
    reports: bool = True,
    levels: bool = True,
) -> Path:
    """Write (or extend) a site folder from synthetic study folders (OUT of write_study); returns it."""
    from engine.synthetic_study import read_ground_truth
    from engine.synthetic_study.ground_truth import write_mask

    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for root in study_roots:
        truth = read_ground_truth(root)
        study_id = root.name
        target = out_dir / STUDIES_DIR / study_id
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(truth.study_dir, target)
        for level in truth.levels:
            rows.append(
                {
                    "study": study_id,
                    "level": level.level,
                    "grade": level.grade.value,
                    "dsca_mm2": f"{level.dural_sac_area_mm2:.1f}",
                }
            )
        if masks:
            for series in truth.series:
                if series.orientation != "axial":
                    continue
                labels = truth.load_mask(series)
                site_labels = np.zeros_like(labels)
                for structure in (Structure.DURAL_SAC, Structure.POSTERIOR_EPIDURAL_FAT):
                    value = DEFAULT_MASK_LABELS[structure.value][0]
                    site_labels[truth.structure_mask(labels, structure.value)] = value
                import nibabel as nib

                affine = np.asarray(nib.load(str(root / "ground_truth" / series.mask_file)).affine)  # type: ignore[attr-defined]
                write_mask(
                    out_dir / MASKS_DIR / study_id / f"{series.series_instance_uid}.nii.gz",
                    site_labels,
                    affine,
                )
        if reports:
            (out_dir / REPORTS_DIR).mkdir(exist_ok=True)
            (out_dir / REPORTS_DIR / f"{study_id}.txt").write_text(truth.reference_report, encoding="utf-8")
        if levels:
            (out_dir / LEVELS_DIR).mkdir(exist_ok=True)
            entries = [
                {
                    "label": lv.level,
                    "centre_lps": list(lv.disc_centre_lps),
                    "normal_lps": list(lv.disc_normal_lps),
                }
                for lv in truth.levels
            ]
            (out_dir / LEVELS_DIR / f"{study_id}.json").write_text(
                json.dumps({"levels": entries}, indent=1), encoding="utf-8"
            )
    labels_path = out_dir / LABELS_FILE
    existing = (
        list(csv.DictReader(io.StringIO(labels_path.read_text(encoding="utf-8"))))
        if labels_path.is_file()
        else []
    )
    written = {r["study"] for r in rows}
    kept = [r for r in existing if r.get("study") not in written]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["study", "level", "grade", "dsca_mm2"], lineterminator="\n")
    writer.writeheader()
    for row in kept + rows:
        writer.writerow({k: row.get(k, "") for k in ("study", "level", "grade", "dsca_mm2")})
    labels_path.write_text(buffer.getvalue(), encoding="utf-8")
    if not (out_dir / SITE_FILE).is_file():
        config = {
            "name": "synthetic site",
            "mask_labels": {k: list(v) for k, v in DEFAULT_MASK_LABELS.items()},
        }
        (out_dir / SITE_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
    return out_dir

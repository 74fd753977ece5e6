"""Site masks: NIfTI label volumes (the synthetic ground-truth convention) or DICOM SEG, read and
checked against the geometry of the series they belong to.

NIfTI: masks/<study>/<SeriesInstanceUID>.nii.gz, a label volume with axes (column, row, slice),
slices in the order of the series sorted along its normal (engine.study), and an affine from the
DICOM geometry converted to RAS (dcm2niix convention; engine.synthetic_study.ground_truth
.mask_affine_ras). Label values mean structures as site.json declares.
DICOM SEG: any file under masks/<study>/ that is a Segmentation referencing the study's images;
segments are matched to structures by their label ("dural sac", "posterior epidural fat", ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.findings import Structure
from engine.site_data.layout import NIFTI_SUFFIXES, SiteConfig
from engine.site_data.problems import ProblemCode, SiteProblem, blocking, warning
from engine.study.model import Series, Study

# Geometry tolerance: directions x spacing and the slice step within 1 % of a pixel, origin within
# 0.5 mm (rounding in NIfTI writers).
_LINEAR_TOLERANCE = 0.01
_ORIGIN_TOLERANCE_MM = 0.5


@dataclass(frozen=True, eq=False)
class SeriesMasks:
    """Masks of one series from one file: structure -> {SOPInstanceUID: bool (rows, cols)}."""

    source: Path
    series_instance_uid: str
    masks: dict[str, dict[str, np.ndarray]] = field(repr=False)

    def mask(self, structure: str, sop_instance_uid: str) -> np.ndarray | None:
        return self.masks.get(structure, {}).get(sop_instance_uid)


def _series_by_uid(study: Study, uid: str) -> list[Series]:
    return [s for s in study.series if s.series_instance_uid == uid]


def _expected_affine(series: Series) -> np.ndarray | None:
    from engine.synthetic_study.ground_truth import mask_affine_ras

    geometries = [s.geometry for s in series.slices]
    if any(g is None for g in geometries):
        return None
    first, last = geometries[0], geometries[-1]
    assert first is not None and last is not None
    if len(geometries) > 1:
        step = (np.asarray(last.position_lps) - np.asarray(first.position_lps)) / (len(geometries) - 1)
    else:
        step = first.normal * (first.slice_thickness_mm or 1.0)
    return mask_affine_ras(
        np.asarray(first.position_lps),
        np.asarray(first.row_direction),
        np.asarray(first.column_direction),
        first.pixel_spacing_mm,
        step,
    )


def _affine_mismatch(found: np.ndarray, expected: np.ndarray, spacing_mm: float) -> str | None:
    linear = np.abs(found[:3, :3] - expected[:3, :3]).max()
    origin = float(np.abs(found[:3, 3] - expected[:3, 3]).max())
    if linear > _LINEAR_TOLERANCE * spacing_mm:
        return f"voxel axes differ from the series' by up to {linear:.3f} mm"
    if origin > _ORIGIN_TOLERANCE_MM:
        return f"origin lies {origin:.2f} mm from the series' first pixel"
    return None


def read_nifti_mask(
    path: Path, relative: str, study: Study, config: SiteConfig
) -> tuple[SeriesMasks | None, list[SiteProblem]]:
    """A NIfTI mask named after its series; None with blocking problems when it cannot be used."""
    import nibabel as nib

    name = path.name
    uid = next(name[: -len(s)] for s in NIFTI_SUFFIXES if name.endswith(s))
    candidates = _series_by_uid(study, uid)
    if len(candidates) != 1:
        why = "no series" if not candidates else "a split series (several stacks)"
        return None, [
            blocking(
                relative, ProblemCode.MASK_UNKNOWN_SERIES, f"the study has {why} with SeriesInstanceUID {uid}"
            )
        ]
    series = candidates[0]
    try:
        image: Any = nib.load(str(path))
        data = np.asarray(image.dataobj)
    except Exception as exc:  # nibabel raises many types for a broken file
        return None, [blocking(relative, ProblemCode.MALFORMED_FILE, f"not a readable NIfTI file ({exc})")]
    if data.ndim != 3:
        return None, [
            blocking(
                relative,
                ProblemCode.MASK_GEOMETRY_MISMATCH,
                f"expected a 3-D label volume, got shape {data.shape}",
            )
        ]
    labels = np.ascontiguousarray(data.transpose(2, 1, 0)).astype(np.int64)
    matrix = series.matrix
    expected_shape = (len(series.slices), *(matrix or (0, 0)))
    if labels.shape != expected_shape:
        return None, [
            blocking(
                relative,
                ProblemCode.MASK_GEOMETRY_MISMATCH,
                f"mask has (slices, rows, columns) {labels.shape}, the series {expected_shape}",
            )
        ]
    expected = _expected_affine(series)
    spacing = min(series.pixel_spacing_mm or (1.0, 1.0))
    if expected is not None:
        mismatch = _affine_mismatch(np.asarray(image.affine), expected, spacing)
        if mismatch:
            return None, [blocking(relative, ProblemCode.MASK_GEOMETRY_MISMATCH, mismatch)]
    problems: list[SiteProblem] = []
    declared = {v for ids in config.mask_labels.values() for v in ids}
    unknown = sorted(set(np.unique(labels).tolist()) - declared - {0})
    if unknown:
        problems.append(
            warning(
                relative,
                ProblemCode.MASK_UNKNOWN_LABEL,
                f"label value(s) {unknown} are not in site.json mask_labels; ignored",
            )
        )
    masks: dict[str, dict[str, np.ndarray]] = {}
    for structure, ids in config.mask_labels.items():
        selected = np.isin(labels, ids)
        masks[structure] = {
            s.sop_instance_uid: selected[i] for i, s in enumerate(series.slices) if selected[i].any()
        }
    return SeriesMasks(path, series.series_instance_uid, masks), problems


def read_seg_mask(path: Path, relative: str, study: Study) -> tuple[SeriesMasks | None, list[SiteProblem]]:
    """A DICOM SEG file; None (with a problem) when it is not a SEG of this study's images."""
    import highdicom as hd

    try:
        seg = hd.seg.segread(str(path))
    except Exception as exc:  # pydicom/highdicom raise many types for non-SEG or broken files
        return None, [blocking(relative, ProblemCode.MALFORMED_FILE, f"not a readable DICOM SEG ({exc})")]
    sources = [str(sop) for _, _, sop in seg.get_source_image_uids()]
    images = {s.sop_instance_uid: (series, s) for series in study.series for s in series.slices}
    missing = [uid for uid in sources if uid not in images]
    if missing or not sources:
        return None, [
            blocking(
                relative,
                ProblemCode.MASK_GEOMETRY_MISMATCH,
                f"references {len(missing) or 'no'} image(s) not in the study"
                + (f", e.g. {missing[0]}" if missing else ""),
            )
        ]
    series_uids = {images[uid][0].series_instance_uid for uid in sources}
    if len(series_uids) != 1:
        return None, [
            blocking(relative, ProblemCode.MASK_GEOMETRY_MISMATCH, "references images of several series")
        ]
    problems: list[SiteProblem] = []
    for uid in sources:
        geometry = images[uid][1].geometry
        if geometry is None or (geometry.rows, geometry.columns) != (int(seg.Rows), int(seg.Columns)):
            return None, [
                blocking(
                    relative,
                    ProblemCode.MASK_GEOMETRY_MISMATCH,
                    f"frames are {seg.Rows}x{seg.Columns} but image {uid} is "
                    + ("without geometry" if geometry is None else f"{geometry.rows}x{geometry.columns}"),
                )
            ]
    known = {s.value for s in Structure}
    structures: dict[int, str] = {}
    for number in seg.segment_numbers:
        label = str(seg.get_segment_description(number).segment_label).strip().lower()
        if label in known:
            structures[number] = label
        else:
            problems.append(
                warning(
                    relative,
                    ProblemCode.MASK_UNKNOWN_LABEL,
                    f"segment {number} {label!r} is no known structure; ignored",
                )
            )
    if not structures:
        return None, [
            *problems,
            blocking(relative, ProblemCode.MASK_UNKNOWN_LABEL, "no segment names a known structure"),
        ]
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=sources, segment_numbers=list(structures), dtype=np.uint8
    )
    masks: dict[str, dict[str, np.ndarray]] = {name: {} for name in structures.values()}
    for i, uid in enumerate(sources):
        for j, name in enumerate(structures.values()):
            layer = pixels[i, :, :, j] > 0
            if layer.any():
                masks[name][uid] = layer
    return SeriesMasks(path, next(iter(series_uids)), masks), problems

"""Contact sheet of a written synthetic study: mid-sagittal T2 and T1, and the axial key slice of
each level (zoomed on the canal), labelled with level, grade and dural sac area, optionally with
ground-truth outlines. Reads the DICOM files back, so it also shows what a viewer would get.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.synthetic_study.ground_truth import GroundTruth, SeriesTruth, read_ground_truth

PREVIEW_FILE = "preview.png"
_SAG_TILE = 440
_AX_TILE = 176
_AX_CROP_MM = 96.0
# BGR outline colours per structure
_OUTLINES = {
    "vertebra": (200, 120, 40),
    "intervertebral disc": (200, 200, 0),
    "spinal canal": (200, 0, 200),
    "dural sac": (0, 220, 255),
    "posterior epidural fat": (60, 220, 60),
}


def render_preview(out_dir: str | Path, path: str | Path | None = None, outlines: bool = True) -> Path:
    """Write the contact sheet PNG (default OUT/preview.png) and return its path."""
    import pydicom

    gt = read_ground_truth(out_dir)
    by_uid: dict[str, Path] = {}
    for f in sorted(gt.study_dir.rglob("*")):
        if f.is_file():
            ds = pydicom.dcmread(str(f), stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
            by_uid[str(ds.SOPInstanceUID)] = f

    def image(series: SeriesTruth, index: int) -> tuple[np.ndarray, pydicom.FileDataset]:
        ds = pydicom.dcmread(str(by_uid[series.sop_instance_uids[index]]))
        return ds.pixel_array.astype(np.float32), ds

    sag_t2 = gt.find_series("sagittal", "T2")
    sag_t1 = gt.find_series("sagittal", "T1")
    axial = gt.find_series("axial", "T2")
    mid = _mid_sagittal_index(gt, sag_t2)
    tiles_top = []
    for series in (sag_t2, sag_t1):
        pixels, ds = image(series, mid)
        tile = _windowed(pixels, ds)
        if outlines:
            labels = gt.load_mask(series)[mid]
            tile = _draw_outlines(gt, tile, labels, ("vertebra", "intervertebral disc", "spinal canal"))
        tile = cv2.resize(tile, (_SAG_TILE, _SAG_TILE), interpolation=cv2.INTER_AREA)
        _caption(tile, f"{series.description}  (sagittal {series.sequence})")
        tiles_top.append(tile)
    ax_plain, ax_outlined = [], []
    labels_ax = gt.load_mask(axial) if outlines else None
    for lv in gt.levels:
        k = _key_slice(axial, lv.level)
        pixels, ds = image(axial, k)
        tile = _windowed(pixels, ds)
        crop = _canal_crop(ds, np.asarray(lv.disc_centre_lps), lv.disc_normal_lps, tile.shape[:2])
        caption = f"{lv.level} {lv.grade.value} {lv.dural_sac_area_mm2:.0f}mm2"
        plain = cv2.resize(tile[crop], (_AX_TILE, _AX_TILE), interpolation=cv2.INTER_AREA)
        _caption(plain, caption)
        ax_plain.append(plain)
        if labels_ax is not None:
            drawn = _draw_outlines(
                gt, tile, labels_ax[k], ("dural sac", "posterior epidural fat", "intervertebral disc")
            )
            drawn = cv2.resize(drawn[crop], (_AX_TILE, _AX_TILE), interpolation=cv2.INTER_AREA)
            _caption(drawn, caption)
            ax_outlined.append(drawn)
    width = 2 * _SAG_TILE
    rows = [np.hstack(tiles_top), _fit_row(ax_plain, width)]
    if ax_outlined:
        rows.append(_fit_row(ax_outlined, width))
    header = np.zeros((26, width, 3), np.uint8)
    cv2.putText(
        header,
        f"SYNTHETIC - not a patient | seed {gt.seed} | generator {gt.generator_version}",
        (6, 18),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (230, 230, 230),
        1,
        cv2.LINE_AA,
    )
    sheet = np.vstack([header, *rows])
    target = Path(path) if path is not None else Path(out_dir) / PREVIEW_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(target), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return target


def _mid_sagittal_index(gt: GroundTruth, series: SeriesTruth) -> int:
    """The sagittal slice closest to the mean disc centre (the midline)."""
    x = float(np.mean([lv.disc_centre_lps[0] for lv in gt.levels]))
    geometry = series.slice_geometry
    rows = len(geometry)
    if not rows:
        return len(series.sop_instance_uids) // 2
    distances = [abs(g.image_position_patient[0] - x) for g in geometry]
    return int(np.argmin(distances))


def _key_slice(series: SeriesTruth, level: str) -> int:
    """Index (mask order) of the axial slice nearest to the disc of `level`."""
    best, best_d = 0, np.inf
    for i, sl in enumerate(series.slice_levels):
        if sl.level == level and sl.distance_to_disc_mm is not None and abs(sl.distance_to_disc_mm) < best_d:
            best, best_d = i, abs(sl.distance_to_disc_mm)
    return best


def _windowed(pixels: np.ndarray, ds: object) -> np.ndarray:
    centre = float(getattr(ds, "WindowCenter", pixels.mean()))
    width = max(float(getattr(ds, "WindowWidth", pixels.std() * 4)), 1.0)
    lo = centre - width / 2
    gray = np.clip((pixels - lo) / width * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def _draw_outlines(
    gt: GroundTruth, tile: np.ndarray, labels: np.ndarray, structures: tuple[str, ...]
) -> np.ndarray:
    out = tile.copy()
    for name in structures:
        mask = gt.structure_mask(labels, name).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, _OUTLINES[name], 1, cv2.LINE_AA)
    return out


def _canal_crop(
    ds: object, disc_centre: np.ndarray, normal: tuple[float, float, float], shape: tuple[int, ...]
) -> tuple[slice, slice]:
    """Square crop of _AX_CROP_MM around the point 12 mm behind the disc centre (the canal)."""
    ipp = np.asarray([float(x) for x in ds.ImagePositionPatient])  # type: ignore[attr-defined]
    iop = np.asarray([float(x) for x in ds.ImageOrientationPatient])  # type: ignore[attr-defined]
    dr, dc = (float(x) for x in ds.PixelSpacing)  # type: ignore[attr-defined]
    row_dir, col_dir = iop[:3], iop[3:]
    target = disc_centre + 8.0 * col_dir
    d = target - ipp
    col = float(np.dot(d, row_dir) / dc)
    row = float(np.dot(d, col_dir) / dr)
    half_r, half_c = _AX_CROP_MM / dr / 2, _AX_CROP_MM / dc / 2
    r0 = int(np.clip(round(row - half_r), 0, max(shape[0] - 2 * half_r, 0)))
    c0 = int(np.clip(round(col - half_c), 0, max(shape[1] - 2 * half_c, 0)))
    return slice(r0, r0 + round(2 * half_r)), slice(c0, c0 + round(2 * half_c))


def _caption(tile: np.ndarray, text: str) -> None:
    cv2.putText(tile, text, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, text, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)


def _fit_row(tiles: list[np.ndarray], width: int) -> np.ndarray:
    row = np.hstack(tiles)
    if row.shape[1] == width:
        return row
    height = round(row.shape[0] * width / row.shape[1])
    return cv2.resize(row, (width, height), interpolation=cv2.INTER_AREA)

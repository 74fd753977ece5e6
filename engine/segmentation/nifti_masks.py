"""Masks on DICOM slices written as NIfTI (nibabel), with an affine from the slices' geometry in the
dcm2niix convention (RAS, array axes column, row, slice), so research tools overlay them on the
images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.study.model import SliceGeometry

# DICOM patient coordinates (LPS) to NIfTI's RAS.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def nifti_affine(geometries: Sequence[SliceGeometry]) -> np.ndarray:
    """4x4 affine from voxel (column, row, slice) to RAS mm: the first slice's axes and origin, and
    the mean step between slices (the first slice's normal x its thickness for one slice)."""
    first = geometries[0]
    affine = np.eye(4)
    affine[:3, 0] = np.asarray(first.row_direction) * first.pixel_spacing_mm[1]
    affine[:3, 1] = np.asarray(first.column_direction) * first.pixel_spacing_mm[0]
    if len(geometries) > 1:
        step = (np.asarray(geometries[-1].position_lps) - np.asarray(first.position_lps)) / (
            len(geometries) - 1
        )
    else:
        step = first.normal * (first.slice_thickness_mm or 1.0)
    affine[:3, 2] = step
    affine[:3, 3] = first.position_lps
    return _LPS_TO_RAS @ affine


def write_mask_nifti(path: Path, masks: np.ndarray, geometries: Sequence[SliceGeometry]) -> Path:
    """Write masks (slices, rows, columns), uint8 or float, as NIfTI (.nii or .nii.gz) at `path`."""
    import nibabel as nib

    volume = np.asarray(masks)
    if volume.ndim != 3 or volume.shape[0] != len(geometries):
        raise ValueError(f"masks of shape {volume.shape} do not match {len(geometries)} slice geometries")
    data = np.ascontiguousarray(volume.transpose(2, 1, 0))
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    affine = nifti_affine(geometries)
    image = nib.Nifti1Image(data, affine)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
    return path

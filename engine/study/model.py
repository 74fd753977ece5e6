"""Typed, frozen description of a loaded DICOM study.

Geometry follows DICOM patient coordinates (LPS, millimetres). Every slice keeps its own
geometry, so angled axial stacks (one stack per disc, each slice with its own
ImageOrientationPatient) need no special case.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np


class Orientation(StrEnum):
    SAGITTAL = "sagittal"
    AXIAL = "axial"
    CORONAL = "coronal"
    OBLIQUE = "oblique"
    UNKNOWN = "unknown"


class Sequence(StrEnum):
    T1 = "T1"
    T2 = "T2"
    STIR = "STIR"
    UNKNOWN = "unknown"


class IssueSeverity(StrEnum):
    SKIPPED = "skipped"  # the file (or frame) was not loaded
    WARNING = "warning"  # loaded, but something about it is off
    SET_ASIDE = "set_aside"  # valid DICOM that is not an MR image series for the viewer


@dataclass(frozen=True)
class SliceGeometry:
    """Where one image plane lies in patient space.

    position_lps: centre of the first transmitted pixel (row 0, column 0), mm.
    row_direction: unit vector along a row, i.e. the direction of increasing column index
        (first triplet of ImageOrientationPatient).
    column_direction: unit vector down a column, i.e. the direction of increasing row index
        (second triplet of ImageOrientationPatient).
    pixel_spacing_mm: (spacing between rows, spacing between columns), as in PixelSpacing.
    """

    position_lps: tuple[float, float, float]
    row_direction: tuple[float, float, float]
    column_direction: tuple[float, float, float]
    pixel_spacing_mm: tuple[float, float]
    rows: int
    columns: int
    slice_thickness_mm: float | None = None

    @property
    def normal(self) -> np.ndarray:
        """Unit normal of the plane (row_direction x column_direction), shape (3,)."""
        # Plain arithmetic: np.cross costs ~30 us, and loaders ask for thousands of normals.
        (rx, ry, rz), (cx, cy, cz) = self.row_direction, self.column_direction
        n = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx)
        length = math.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
        return np.array([n[0] / length, n[1] / length, n[2] / length])

    @property
    def position_along_normal_mm(self) -> float:
        """Signed distance of the plane from the origin along its own normal (mm)."""
        return float(np.dot(self.normal, np.asarray(self.position_lps)))

    def pixel_to_lps(self, rows: np.ndarray | float, columns: np.ndarray | float) -> np.ndarray:
        """Patient coordinates (mm) of pixel centres; rows/columns broadcast, result (..., 3)."""
        r = np.asarray(rows, dtype=np.float64)[..., None]
        c = np.asarray(columns, dtype=np.float64)[..., None]
        return (
            np.asarray(self.position_lps)
            + c * self.pixel_spacing_mm[1] * np.asarray(self.row_direction)
            + r * self.pixel_spacing_mm[0] * np.asarray(self.column_direction)
        )

    def lps_to_pixel(self, points_lps: np.ndarray) -> np.ndarray:
        """(row, column, signed distance to the plane in mm) for points (..., 3) -> (..., 3)."""
        d = np.asarray(points_lps, dtype=np.float64) - np.asarray(self.position_lps)
        col = d @ np.asarray(self.row_direction) / self.pixel_spacing_mm[1]
        row = d @ np.asarray(self.column_direction) / self.pixel_spacing_mm[0]
        dist = d @ self.normal
        return np.stack([row, col, dist], axis=-1)

    @property
    def centre_lps(self) -> np.ndarray:
        """Patient coordinates (mm) of the image centre, shape (3,)."""
        return self.pixel_to_lps((self.rows - 1) / 2.0, (self.columns - 1) / 2.0)


@dataclass(frozen=True)
class ImageSlice:
    """One displayable 2D image: a single-frame instance or one frame of a multi-frame one."""

    sop_instance_uid: str
    source_path: Path
    frame_index: int | None  # 0-based frame in a multi-frame instance; None for single-frame
    instance_number: int | None
    geometry: SliceGeometry | None  # None when the geometry tags are missing or broken
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    window_centre: float | None = None
    window_width: float | None = None

    @property
    def key(self) -> str:
        """Unique key of this image within a study (SOP Instance UID, plus frame for multi-frame)."""
        return (
            self.sop_instance_uid
            if self.frame_index is None
            else f"{self.sop_instance_uid}#{self.frame_index}"
        )


# Loads the pixels of one slice as float32 (rows, columns), rescale slope/intercept applied.
PixelLoader = Callable[[ImageSlice], np.ndarray]


@dataclass(frozen=True, eq=False)
class Series:
    """An MR image series, slices sorted by position along the slice normal."""

    series_instance_uid: str
    study_instance_uid: str
    series_number: int | None
    description: str
    modality: str
    orientation: Orientation
    sequence: Sequence
    slices: tuple[ImageSlice, ...]
    pixel_loader: PixelLoader = field(repr=False)
    manufacturer: str = ""
    echo_time_ms: float | None = None
    repetition_time_ms: float | None = None
    # 1, 2, ... when one DICOM series held several stacks (matrix, spacing, plane or echo differ)
    # and the loader split it; None for a series loaded whole.
    split_part: int | None = None

    def __len__(self) -> int:
        return len(self.slices)

    @property
    def key(self) -> str:
        """Unique key within a study: the SeriesInstanceUID, plus the part of a split series."""
        return (
            self.series_instance_uid
            if self.split_part is None
            else f"{self.series_instance_uid}#{self.split_part}"
        )

    def slice_pixels(self, index: int) -> np.ndarray:
        """Pixels of slice `index` as float32 (rows, columns), rescaled to stored units."""
        return self.pixel_loader(self.slices[index])

    def volume(self) -> np.ndarray:
        """All slices stacked as float32 (n_slices, rows, columns); requires a uniform matrix.

        Decoded in parallel (engine.study.pixels.decode_series).
        """
        from engine.study.pixels import decode_series

        return decode_series(self)

    @property
    def matrix(self) -> tuple[int, int] | None:
        """(rows, columns) of the first slice with geometry, or None."""
        g = next((s.geometry for s in self.slices if s.geometry is not None), None)
        return None if g is None else (g.rows, g.columns)

    @property
    def pixel_spacing_mm(self) -> tuple[float, float] | None:
        """(row spacing, column spacing) in mm of the first slice with geometry, or None."""
        g = next((s.geometry for s in self.slices if s.geometry is not None), None)
        return None if g is None else g.pixel_spacing_mm

    @property
    def slice_thickness_mm(self) -> float | None:
        """SliceThickness of the first slice that has one (mm), or None."""
        return next(
            (
                s.geometry.slice_thickness_mm
                for s in self.slices
                if s.geometry is not None and s.geometry.slice_thickness_mm is not None
            ),
            None,
        )

    @property
    def slice_spacing_mm(self) -> float | None:
        """Median distance (mm) between neighbouring slice centres along the mean slice normal.

        None with fewer than two slices or when a slice lacks geometry.
        """
        geometries = [s.geometry for s in self.slices]
        if len(geometries) < 2 or any(g is None for g in geometries):
            return None
        normals = np.array([g.normal for g in geometries if g is not None])
        mean_normal = (normals * np.where(normals @ normals[0] < 0, -1.0, 1.0)[:, None]).mean(axis=0)
        mean_normal /= np.linalg.norm(mean_normal)
        positions = np.array([g.centre_lps @ mean_normal for g in geometries if g is not None])
        return float(np.median(np.abs(np.diff(positions))))

    @property
    def is_angled_stack(self) -> bool:
        """True when slices do not share one orientation (e.g. axial stacks angled per disc)."""
        dirs = {
            (
                tuple(round(v, 3) for v in s.geometry.row_direction),
                tuple(round(v, 3) for v in s.geometry.column_direction),
            )
            for s in self.slices
            if s.geometry is not None
        }
        return len(dirs) > 1

    def slice_index_by_uid(self, sop_instance_uid: str, frame_index: int | None = None) -> int:
        for i, s in enumerate(self.slices):
            if s.sop_instance_uid == sop_instance_uid and s.frame_index == frame_index:
                return i
        raise KeyError(sop_instance_uid)


@dataclass(frozen=True)
class SetAsideSeries:
    """Valid DICOM in the folder that is not an MR image series to read (SR, PR, SEG, scouts...)."""

    series_instance_uid: str
    description: str
    modality: str
    reason: str
    file_count: int


@dataclass(frozen=True)
class LoadIssue:
    """One line of the load report: which file, what happened, why."""

    path: str
    reason: str
    severity: IssueSeverity = IssueSeverity.SKIPPED


@dataclass(frozen=True)
class LoadReport:
    files_found: int
    files_loaded: int
    issues: tuple[LoadIssue, ...] = ()
    cancelled: bool = False

    @property
    def skipped(self) -> tuple[LoadIssue, ...]:
        return tuple(i for i in self.issues if i.severity is IssueSeverity.SKIPPED)


@dataclass(frozen=True)
class PatientInfo:
    """Identifying data for report headers and exports. Never log it."""

    name: str = ""
    patient_id: str = ""
    birth_date: str = ""  # DICOM DA, YYYYMMDD
    sex: str = ""

    def __repr__(self) -> str:  # keep identifiers out of logs and tracebacks
        return "PatientInfo(<redacted>)"


@dataclass(frozen=True, eq=False)
class Study:
    study_instance_uid: str
    study_date: str  # DICOM DA
    description: str
    accession_number: str
    patient: PatientInfo
    series: tuple[Series, ...]
    set_aside: tuple[SetAsideSeries, ...]
    load_report: LoadReport
    root: Path

    def series_by_uid(self, series_instance_uid: str) -> Series:
        for s in self.series:
            if s.series_instance_uid == series_instance_uid:
                return s
        raise KeyError(series_instance_uid)

    def find_series(self, orientation: Orientation, sequence: Sequence | None = None) -> list[Series]:
        """Series of the given orientation (and sequence), the one with the most slices first."""
        found = [
            s
            for s in self.series
            if s.orientation is orientation and (sequence is None or s.sequence is sequence)
        ]
        return sorted(found, key=lambda s: -len(s.slices))

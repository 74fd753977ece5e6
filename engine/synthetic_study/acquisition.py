"""Scanner protocols of a synthetic study: vendor, sequences, and the plane of every slice.

Three series like a routine lumbar MRI: sagittal T2 and T1 (sharing one slice prescription, as
radiographers usually copy it) and axial T2, either one continuous stack from L1 to S1 or short
stacks (3-5 slices) angled parallel to each disc. Geometry is in LPS millimetres as DICOM has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from engine.findings import DISC_LEVELS
from engine.synthetic_study.anatomy import Anatomy


class AxialStyle(StrEnum):
    CONTINUOUS = "continuous"
    ANGLED = "angled"


@dataclass(frozen=True)
class SlicePlane:
    """One image plane: position of the first pixel centre and the DICOM direction cosines.

    row_direction: direction of increasing column index; column_direction: of increasing row
    index; pixel_spacing_mm: (between rows, between columns) as in DICOM PixelSpacing.
    level: the disc an angled slice was prescribed on (None for other series).
    """

    position_lps: tuple[float, float, float]
    row_direction: tuple[float, float, float]
    column_direction: tuple[float, float, float]
    pixel_spacing_mm: tuple[float, float]
    rows: int
    columns: int
    level: str | None = None

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(np.asarray(self.row_direction), np.asarray(self.column_direction))
        return n / np.linalg.norm(n)

    @property
    def centre_lps(self) -> np.ndarray:
        return (
            np.asarray(self.position_lps)
            + 0.5 * (self.columns - 1) * self.pixel_spacing_mm[1] * np.asarray(self.row_direction)
            + 0.5 * (self.rows - 1) * self.pixel_spacing_mm[0] * np.asarray(self.column_direction)
        )

    def pixel_centres(
        self, row_offset: float = 0.0, column_offset: float = 0.0, normal_offset_mm: float = 0.0
    ) -> np.ndarray:
        """LPS (mm) of all pixel centres (shifted by fractions of a pixel / mm along the normal),
        float32 of shape (rows * columns, 3), row-major."""
        r = (np.arange(self.rows, dtype=np.float32) + np.float32(row_offset)) * np.float32(
            self.pixel_spacing_mm[0]
        )
        c = (np.arange(self.columns, dtype=np.float32) + np.float32(column_offset)) * np.float32(
            self.pixel_spacing_mm[1]
        )
        origin = np.asarray(self.position_lps, np.float32) + np.float32(
            normal_offset_mm
        ) * self.normal.astype(np.float32)
        col_dir = np.asarray(self.column_direction, np.float32)
        row_dir = np.asarray(self.row_direction, np.float32)
        pts = origin + r[:, None, None] * col_dir + c[None, :, None] * row_dir
        return pts.reshape(-1, 3)


@dataclass(frozen=True)
class Vendor:
    manufacturer: str
    model: str
    field_strength_t: float
    software: str
    sag_t2: str
    sag_t1: str
    ax_t2: str
    ax_t2_angled: str
    tse_name: str  # SequenceName of a 2D turbo spin echo
    series_numbers: tuple[int, int, int]  # sag T1, sag T2, ax T2
    axial_superior_first: bool  # order of InstanceNumber in axial stacks


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        "SIEMENS",
        "Avanto_fit",
        1.5,
        "syngo MR E11",
        "t2_tse_sag_384",
        "t1_tse_sag",
        "t2_tse_tra",
        "t2_tse_tra_discs",
        "*tse2d1_15",
        (2, 3, 4),
        False,
    ),
    Vendor(
        "SIEMENS",
        "Skyra",
        3.0,
        "syngo MR E11",
        "T2_TSE_SAG",
        "T1_TSE_SAG",
        "T2_TSE_TRA",
        "T2_TSE_TRA_DISC",
        "*tse2d1_17",
        (3, 2, 4),
        False,
    ),
    Vendor(
        "GE MEDICAL SYSTEMS",
        "SIGNA Explorer",
        1.5,
        "27\\LX\\MR Software release:RX27.0_R02",
        "SAG T2 FSE",
        "SAG T1 FSE",
        "AX T2 FSE",
        "AX T2 FSE DISCS",
        "fse-xl_4",
        (3, 2, 4),
        True,
    ),
    Vendor(
        "GE MEDICAL SYSTEMS",
        "DISCOVERY MR750w",
        3.0,
        "DV26.0_R03",
        "Sag T2 FRFSE",
        "Sag T1 FSE",
        "Ax T2 FRFSE",
        "Ax T2 FRFSE angled",
        "frfse-xl_4",
        (2, 3, 5),
        True,
    ),
    Vendor(
        "Philips Medical Systems",
        "Ingenia",
        1.5,
        "5.6.1\\5.6.1.2",
        "T2W_TSE_SAG",
        "T1W_TSE_SAG",
        "T2W_TSE_TRA",
        "T2W_TSE_TRA_DISCS",
        "TSE",
        (301, 401, 501),
        False,
    ),
    Vendor(
        "Philips Medical Systems",
        "Achieva dStream",
        3.0,
        "5.3.1\\5.3.1.0",
        "sT2W_TSE",
        "sT1W_TSE",
        "T2W_TSE_ax",
        "T2W_TSE_ax_angled",
        "TSE",
        (401, 301, 601),
        False,
    ),
)


@dataclass(frozen=True)
class SeriesProtocol:
    """Everything needed to render and write one series."""

    series_number: int
    description: str
    orientation: str  # "sagittal" or "axial"
    sequence: str  # "T2" or "T1"
    planes: tuple[SlicePlane, ...]  # in InstanceNumber order
    slice_thickness_mm: float
    spacing_between_slices_mm: float
    echo_time_ms: float
    repetition_time_ms: float
    echo_train_length: int
    flip_angle_deg: float
    acquisition_matrix: tuple[int, int]  # (frequency rows, phase columns) as acquired
    phase_encoding: str  # "ROW" or "COL"
    pixel_bandwidth_hz: float
    noise_fraction: float  # Rician noise sigma relative to the brightest tissue
    blur_px: float
    signal_scale: float  # stored value of relative signal 1.0
    bias_decay_mm: float  # receive-coil sensitivity decay away from the table
    bias_weight: float  # 0: flat field, 1: pure exponential decay
    axial_style: AxialStyle | None = None


@dataclass(frozen=True)
class StudyProtocol:
    vendor: Vendor
    series: tuple[SeriesProtocol, ...]  # sag T1, sag T2, ax T2 (in this order)
    axial_style: AxialStyle


def plan_study(rng: np.random.Generator, anatomy: Anatomy, axial_style: AxialStyle | None) -> StudyProtocol:
    """Draw vendor, matrices, spacings and slice positions for one study."""
    vendor = VENDORS[int(rng.integers(len(VENDORS)))]
    style = axial_style or (AxialStyle.ANGLED if rng.random() < 0.5 else AxialStyle.CONTINUOUS)
    three_tesla = vendor.field_strength_t > 2.0
    sag_planes, sag_thick, sag_spacing = _sagittal_planes(rng, anatomy)
    sag_matrix = sag_planes[0].rows
    acq = round(sag_matrix * rng.uniform(0.6, 0.8) / 16.0) * 16
    noise = float(rng.uniform(0.012, 0.03)) * (0.8 if three_tesla else 1.0)
    common = dict(
        slice_thickness_mm=sag_thick,
        spacing_between_slices_mm=sag_spacing,
        acquisition_matrix=(sag_matrix, acq),
        phase_encoding="ROW",
        blur_px=float(rng.uniform(0.35, 0.6)),
        bias_decay_mm=float(rng.uniform(60.0, 110.0)),
        bias_weight=float(rng.uniform(0.85, 0.97)),
    )
    t1_num, t2_num, ax_num = vendor.series_numbers
    sag_t2 = SeriesProtocol(
        series_number=t2_num,
        description=vendor.sag_t2,
        orientation="sagittal",
        sequence="T2",
        planes=sag_planes,
        echo_time_ms=float(rng.choice([90.0, 96.0, 102.0, 108.0, 112.0, 120.0])),
        repetition_time_ms=float(rng.uniform(2800.0, 4200.0)),
        echo_train_length=int(rng.choice([15, 17, 19, 21, 24])),
        flip_angle_deg=float(rng.choice([90.0, 150.0, 160.0])),
        pixel_bandwidth_hz=float(rng.choice([190.0, 220.0, 250.0, 260.0])),
        noise_fraction=noise,
        signal_scale=float(rng.uniform(900.0, 2600.0)),
        **common,  # type: ignore[arg-type]
    )
    sag_t1 = SeriesProtocol(
        series_number=t1_num,
        description=vendor.sag_t1,
        orientation="sagittal",
        sequence="T1",
        planes=sag_planes,
        echo_time_ms=float(rng.choice([8.0, 9.5, 10.0, 11.0, 12.0, 14.0])),
        repetition_time_ms=float(rng.uniform(450.0, 750.0)),
        echo_train_length=int(rng.choice([3, 4, 5])),
        flip_angle_deg=float(rng.choice([90.0, 150.0])),
        pixel_bandwidth_hz=float(rng.choice([180.0, 200.0, 230.0])),
        noise_fraction=noise * float(rng.uniform(0.8, 1.1)),
        signal_scale=float(rng.uniform(900.0, 2600.0)),
        **common,  # type: ignore[arg-type]
    )
    ax_planes, ax_thick, ax_spacing = (
        _angled_axial_planes(rng, anatomy, vendor)
        if style is AxialStyle.ANGLED
        else _continuous_axial_planes(rng, anatomy, vendor)
    )
    ax_matrix = ax_planes[0].rows
    ax_t2 = SeriesProtocol(
        series_number=ax_num,
        description=vendor.ax_t2_angled if style is AxialStyle.ANGLED else vendor.ax_t2,
        orientation="axial",
        sequence="T2",
        planes=ax_planes,
        slice_thickness_mm=ax_thick,
        spacing_between_slices_mm=ax_spacing,
        echo_time_ms=float(rng.choice([90.0, 100.0, 105.0, 112.0, 120.0])),
        repetition_time_ms=float(rng.uniform(3000.0, 5500.0)),
        echo_train_length=int(rng.choice([13, 15, 17, 19])),
        flip_angle_deg=float(rng.choice([90.0, 150.0, 160.0])),
        acquisition_matrix=(ax_matrix, round(ax_matrix * rng.uniform(0.65, 0.85) / 16.0) * 16),
        phase_encoding="ROW",
        pixel_bandwidth_hz=float(rng.choice([180.0, 200.0, 230.0, 260.0])),
        noise_fraction=float(rng.uniform(0.015, 0.035)) * (0.8 if three_tesla else 1.0),
        blur_px=float(rng.uniform(0.35, 0.6)),
        signal_scale=float(rng.uniform(900.0, 2600.0)),
        bias_decay_mm=float(rng.uniform(60.0, 110.0)),
        bias_weight=float(rng.uniform(0.85, 0.97)),
        axial_style=style,
    )
    return StudyProtocol(vendor=vendor, series=(sag_t1, sag_t2, ax_t2), axial_style=style)


def _sagittal_planes(
    rng: np.random.Generator, anatomy: Anatomy
) -> tuple[tuple[SlicePlane, ...], float, float]:
    """13-19 true sagittal slices through the canal, first slice on the patient's right."""
    matrix = int(rng.choice([256, 320, 384, 448, 512]))
    fov = float(rng.uniform(260.0, 320.0))
    spacing = fov / matrix
    n = int(rng.choice([13, 15, 15, 17, 19]))
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    gap = thickness * float(rng.uniform(0.1, 0.3))
    step = thickness + gap
    l3 = anatomy.vertebrae[3]
    centre = anatomy.frame.to_lps(l3.s_mid, 0.0, -0.2 * l3.depth)
    centre = centre + np.array([rng.uniform(-2.0, 2.0), rng.uniform(-10.0, 15.0), rng.uniform(-15.0, 15.0)])
    row_dir = np.array([0.0, 1.0, 0.0])  # columns run anterior -> posterior
    col_dir = np.array([0.0, 0.0, -1.0])  # rows run superior -> inferior
    planes = []
    for k in range(n):
        x = centre[0] + (k - (n - 1) / 2) * step * -1.0  # normal row x col = -x: right to left
        first = np.array([x, centre[1], centre[2]]) - 0.5 * (matrix - 1) * spacing * (row_dir + col_dir)
        planes.append(_plane(first, row_dir, col_dir, spacing, matrix))
    planes.sort(key=lambda p: float(np.dot(p.normal, p.position_lps)))
    return tuple(planes), thickness, step


def _axial_axes(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row direction +x (to the patient's left), column direction posterior in the plane."""
    row = np.array([1.0, 0.0, 0.0])
    col = np.cross(normal, row)
    return row, col / np.linalg.norm(col)


def _continuous_axial_planes(
    rng: np.random.Generator, anatomy: Anatomy, vendor: Vendor
) -> tuple[tuple[SlicePlane, ...], float, float]:
    """One stack, slightly tilted, from mid-L1 to upper S1."""
    matrix = int(rng.choice([256, 288, 320, 320, 384, 448]))
    fov = float(rng.uniform(180.0, 240.0))
    spacing = fov / matrix
    thickness = float(rng.choice([3.0, 4.0, 4.0, 5.0]))
    step = thickness + float(rng.choice([0.0, 0.4, 0.5, 1.0]))
    tilt = np.deg2rad(rng.uniform(-8.0, 8.0))
    normal = np.array([0.0, -np.sin(tilt), np.cos(tilt)])
    row, col = _axial_axes(normal)
    top = anatomy.frame.to_lps(anatomy.vertebrae[5].s_mid, 0.0, -0.5 * anatomy.vertebrae[5].depth)
    bottom = anatomy.disc_centre_lps("L5-S1")
    l3 = anatomy.vertebrae[3]
    centre = anatomy.frame.to_lps(l3.s_mid, 0.0, float(rng.uniform(-22.0, -8.0)))
    t0, t1 = float(np.dot(bottom - centre, normal)) - 12.0, float(np.dot(top - centre, normal))
    n = int(np.floor((t1 - t0) / step)) + 1
    planes = []
    for k in range(n):
        c = centre + (t0 + k * step) * normal
        first = c - 0.5 * (matrix - 1) * spacing * (row + col)
        planes.append(_plane(first, row, col, spacing, matrix))
    if vendor.axial_superior_first:
        planes.reverse()
    return tuple(planes), thickness, step


def _angled_axial_planes(
    rng: np.random.Generator, anatomy: Anatomy, vendor: Vendor
) -> tuple[tuple[SlicePlane, ...], float, float]:
    """A short stack parallel to each disc, centred on the disc (within +-1 mm)."""
    matrix = int(rng.choice([256, 288, 320, 320, 384, 448]))
    fov = float(rng.uniform(180.0, 240.0))
    spacing = fov / matrix
    per_level = int(rng.choice([3, 4, 5]))
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    step = thickness + float(rng.choice([0.0, 0.3, 0.5]))
    in_plane = float(rng.uniform(-22.0, -8.0))
    planes: list[SlicePlane] = []
    for level in DISC_LEVELS:
        disc = anatomy.disc(level)
        normal = anatomy.disc_normal_lps(level)
        row, col = _axial_axes(normal)
        centre = anatomy.frame.to_lps(disc.s_mid + float(rng.uniform(-1.0, 1.0)), 0.0, in_plane)
        stack = []
        for k in range(per_level):
            c = centre + (k - (per_level - 1) / 2) * step * normal
            first = c - 0.5 * (matrix - 1) * spacing * (row + col)
            stack.append(_plane(first, row, col, spacing, matrix, level))
        # superior first: cranial level first, each stack top down; else bottom up from L5-S1
        planes += stack[::-1] if vendor.axial_superior_first else []
        planes = planes if vendor.axial_superior_first else stack + planes
    return tuple(planes), thickness, step


def _plane(
    first: np.ndarray, row: np.ndarray, col: np.ndarray, spacing: float, matrix: int, level: str | None = None
) -> SlicePlane:
    return SlicePlane(
        position_lps=(float(first[0]), float(first[1]), float(first[2])),
        row_direction=(float(row[0]), float(row[1]), float(row[2])),
        column_direction=(float(col[0]), float(col[1]), float(col[2])),
        pixel_spacing_mm=(spacing, spacing),
        rows=matrix,
        columns=matrix,
        level=level,
    )

"""Report-conditioned pseudo-masks of the dural sac (method.md, pipeline step 2), for site data that
has reports but no masks.

On the axial slice the level's geometry chose (engine.site_data.level_geometry):
1. non-local-means denoising and robust normalisation (engine.preprocessing, the model's own
   preprocessing);
2. a search window around the canal point; a three-class Otsu threshold (maximal between-class
   variance) splits it into dark, intermediate and bright tissue;
3. the report chooses the expected structure: a CSF-bright sac for "none"/"mild", bright or
   intermediate (grainy CSF) for "moderate" and for compression of unstated degree, an
   intermediate, CSF-free grey sac for "severe" (Schizas C/D);
4. morphology: opening, closing, hole filling (dark rootlets inside the sac); the connected
   component containing (or nearest) the canal point is the candidate sac;
5. Canny edges (thresholds from Otsu's two-class threshold) must support the candidate's outline:
   a sac is bounded by an intensity edge almost all round;
6. the report conditions the area: the severity's range (engine.site_data.severity), narrowed to
   a stated area when the report gives one.
A candidate that contradicts the text (area outside the range), lies away from the canal, leaks to
the window's edge, is not compact or has too little edge support is rejected with that reason,
never returned as a mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

from engine.preprocessing import PreprocessingConfig, prepare_intensities
from engine.site_data.severity import AreaRange, Severity, expected_dural_sac_area

# Tissue classes (0 dark, 1 intermediate, 2 bright on T2) a dural sac of each stated severity shows.
EXPECTED_TISSUE: dict[Severity, tuple[int, ...]] = {
    Severity.NONE: (2,),
    Severity.MILD: (2,),
    Severity.MODERATE: (1, 2),
    Severity.UNQUALIFIED: (1, 2),
    Severity.SEVERE: (1,),
}


class RejectionReason(StrEnum):
    NO_COMPONENT = "no component near the canal"
    AREA_OUT_OF_RANGE = "area contradicts the stated severity"
    LEAK = "component reaches the edge of the search window"
    NOT_COMPACT = "component is not compact"
    WEAK_EDGES = "outline not supported by image edges"
    NO_SEVERITY = "the report states no severity for the level"


@dataclass(frozen=True)
class PseudoMaskConfig:
    """Parameters of the pseudo-mask search (millimetres are converted with the slice's spacing).

    window_half_size_mm: half side of the square search window around the canal point.
    max_distance_mm: largest distance from the canal point to the chosen component.
    edge_tolerance_px: an outline pixel counts as supported when a Canny edge lies within this
        many pixels.
    min_edge_support: smallest share of the outline supported by edges.
    open_radius_mm / close_radius_mm: radii of the elliptic opening and closing elements.
    min_solidity: smallest area / convex hull area of an accepted component.
    preprocessing: normalisation and non-local-means denoising (engine.preprocessing).
    """

    window_half_size_mm: float = 14.0
    max_distance_mm: float = 8.0
    edge_tolerance_px: int = 1
    min_edge_support: float = 0.5
    open_radius_mm: float = 0.8
    close_radius_mm: float = 1.2
    min_solidity: float = 0.7
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)


@dataclass(frozen=True, eq=False)
class PseudoMaskResult:
    """The outcome for one level. mask: bool (rows, cols) on the slice when accepted, else None;
    candidate: the component found before the report's checks (None when none was found; kept so
    that rejections can be inspected and scored); area_mm2: the candidate's area; expected: the
    range the text allowed; reason: why it was rejected (None when accepted)."""

    accepted: bool
    mask: np.ndarray | None = field(repr=False)
    candidate: np.ndarray | None = field(repr=False)
    area_mm2: float | None
    expected: AreaRange | None
    reason: RejectionReason | None
    detail: str = ""


def _disc(radius_px: float) -> np.ndarray:
    size = max(round(radius_px), 1) * 2 + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill enclosed background (rootlets inside a CSF-bright sac are dark holes)."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return (padded | (1 - flood)).astype(bool)[1:-1, 1:-1]


def three_class_otsu(grey: np.ndarray) -> tuple[int, int]:
    """Two thresholds (t1 < t2) of an 8-bit image maximising the between-class variance of the three
    classes [0, t1), [t1, t2), [t2, 255] (multi-level Otsu)."""
    histogram = np.bincount(np.asarray(grey, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    p = histogram / histogram.sum()
    levels = np.arange(256, dtype=np.float64)
    weight, moment = np.cumsum(p), np.cumsum(p * levels)
    total = moment[-1]
    t1, t2 = np.meshgrid(np.arange(1, 256), np.arange(1, 256), indexing="ij")
    valid = t2 > t1
    w0, w1 = weight[t1 - 1], weight[t2 - 1] - weight[t1 - 1]
    w2 = 1.0 - weight[t2 - 1]
    m0, m1 = moment[t1 - 1], moment[t2 - 1] - moment[t1 - 1]
    m2 = total - moment[t2 - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = m0**2 / w0 + m1**2 / w1 + m2**2 / w2
    variance = np.where(valid & (w0 > 0) & (w1 > 0) & (w2 > 0), variance, -np.inf)
    i, j = np.unravel_index(int(np.argmax(variance)), variance.shape)
    return int(t1[i, j]), int(t2[i, j])


def _canny_edges(grey: np.ndarray) -> np.ndarray:
    """Canny edges (uint8 0/255) with hysteresis thresholds (t/2, t) from Otsu's threshold t."""
    threshold, _ = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return cv2.Canny(grey, 0.5 * threshold, threshold)


def _edge_support(edges: np.ndarray, component: np.ndarray, tolerance_px: int) -> float:
    """Share of the component's outline pixels within tolerance_px of an edge."""
    near = cv2.dilate(edges, _disc(tolerance_px)) if tolerance_px > 0 else edges
    mask = component.astype(np.uint8)
    outline = (mask - cv2.erode(mask, np.ones((3, 3), np.uint8))) > 0
    return float((outline & (near > 0)).sum()) / max(int(outline.sum()), 1)


def _touches_border(component: np.ndarray) -> bool:
    return bool(component[0].any() or component[-1].any() or component[:, 0].any() or component[:, -1].any())


def _component_near(
    candidate: np.ndarray,
    point_rc: tuple[float, float],
    spacing_mm: tuple[float, float],
    config: PseudoMaskConfig,
) -> np.ndarray | None:
    """The connected component (holes filled) nearest the point, if within max_distance_mm."""
    count, components = cv2.connectedComponents(candidate.astype(np.uint8), connectivity=4)
    if count < 2:
        return None
    rr, cc = np.mgrid[: candidate.shape[0], : candidate.shape[1]]
    distance = np.hypot((rr - point_rc[0]) * spacing_mm[0], (cc - point_rc[1]) * spacing_mm[1])
    nearest = {label: float(distance[components == label].min()) for label in range(1, count)}
    label = min(nearest, key=lambda k: nearest[k])
    if nearest[label] > config.max_distance_mm:
        return None
    return _fill_holes(components == label)


def _window(
    shape: tuple[int, int], centre_rc: tuple[float, float], half_px: tuple[int, int]
) -> tuple[slice, slice]:
    rows, cols = shape
    r, c = round(centre_rc[0]), round(centre_rc[1])
    return (
        slice(max(r - half_px[0], 0), min(r + half_px[0] + 1, rows)),
        slice(max(c - half_px[1], 0), min(c + half_px[1] + 1, cols)),
    )


def dural_sac_pseudo_mask(
    pixels: np.ndarray,
    spacing_mm: tuple[float, float],
    canal_rc: tuple[float, float],
    severity: Severity | None,
    stated_area_mm2: float | None = None,
    config: PseudoMaskConfig | None = None,
) -> PseudoMaskResult:
    """Pseudo-mask of the dural sac on one axial slice, conditioned on the report.

    pixels: the slice (rows, cols), stored values; spacing_mm: PixelSpacing (row, col);
    canal_rc: the canal point in pixel coordinates (row, col); severity / stated_area_mm2: what the
    report says about this level (engine.site_data.report_parser).
    """
    config = config or PseudoMaskConfig()
    if severity is None:
        return PseudoMaskResult(False, None, None, None, None, RejectionReason.NO_SEVERITY)
    image = np.asarray(pixels)
    if image.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {image.shape}")
    row_mm, col_mm = (float(s) for s in spacing_mm)
    pixel_area = row_mm * col_mm
    expected = expected_dural_sac_area(severity, stated_area_mm2)
    intensities = prepare_intensities(image, config.preprocessing)
    rows_slice, cols_slice = _window(
        image.shape,
        canal_rc,
        (int(config.window_half_size_mm / row_mm), int(config.window_half_size_mm / col_mm)),
    )
    grey = np.rint(intensities[rows_slice, cols_slice] * 255.0).astype(np.uint8)
    edges = _canny_edges(grey)
    low, high = three_class_otsu(grey)
    tissue = np.digitize(grey, [low, high])  # 0 dark, 1 intermediate, 2 bright
    per_mm = 1.0 / min(row_mm, col_mm)
    expected_tissue = np.isin(tissue, EXPECTED_TISSUE[severity]).astype(np.uint8)
    opened = cv2.morphologyEx(expected_tissue, cv2.MORPH_OPEN, _disc(config.open_radius_mm * per_mm))
    candidate = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, _disc(config.close_radius_mm * per_mm)) > 0
    local = (canal_rc[0] - rows_slice.start, canal_rc[1] - cols_slice.start)
    component = _component_near(_fill_holes(candidate), local, (row_mm, col_mm), config)
    if component is not None and _touches_border(component):
        # Canny edges split the sac from touching tissue of the same brightness.
        cut = (candidate & ~(cv2.dilate(edges, _disc(1)) > 0)).astype(np.uint8)
        separated = cv2.morphologyEx(cut, cv2.MORPH_OPEN, _disc(config.open_radius_mm * per_mm)) > 0
        split = _component_near(_fill_holes(separated), local, (row_mm, col_mm), config)
        if split is not None and not _touches_border(split):
            component = split
    if component is None:
        return PseudoMaskResult(False, None, None, None, expected, RejectionReason.NO_COMPONENT)
    full = np.zeros(image.shape, dtype=bool)
    full[rows_slice, cols_slice] = component
    area = float(component.sum()) * pixel_area

    def rejected(reason: RejectionReason, detail: str) -> PseudoMaskResult:
        return PseudoMaskResult(False, None, full, area, expected, reason, detail)

    if _touches_border(component):
        return rejected(RejectionReason.LEAK, f"{area:.0f} mm2 touching the window edge")
    support = _edge_support(edges, component, config.edge_tolerance_px)
    if support < config.min_edge_support:
        return rejected(RejectionReason.WEAK_EDGES, f"{support:.0%} of the outline on an edge")
    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull_area = float(cv2.contourArea(cv2.convexHull(np.vstack(contours)))) * pixel_area
    solidity = area / hull_area if hull_area > 0 else 0.0
    if solidity < config.min_solidity:
        return rejected(RejectionReason.NOT_COMPACT, f"solidity {solidity:.2f} < {config.min_solidity}")
    if not expected.contains(area):
        return rejected(
            RejectionReason.AREA_OUT_OF_RANGE,
            f"{area:.0f} mm2 outside [{expected.low_mm2:.0f}, {expected.high_mm2:.0f}] for {severity.value}",
        )
    return PseudoMaskResult(True, full, full, area, expected, None)

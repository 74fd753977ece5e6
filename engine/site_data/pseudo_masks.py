"""Report-conditioned pseudo-masks of the dural sac (method.md, pipeline step 2), for site data that
has reports but no masks.

On the axial slice the level's geometry chose (engine.site_data.level_geometry):
1. non-local-means denoising and robust normalisation (engine.preprocessing, the model's own
   preprocessing), then a search window around the canal point, rescaled to its own 1st-99th
   percentiles (the receive-coil bias and bright subcutaneous fat make slice-wide levels
   meaningless there) and lightly smoothed;
2. candidates: for every intensity band [lo, hi] that contains the canal point's median value (lo
   and hi drawn from the window's quantiles), the band is opened (cutting thin bridges to touching
   tissue of similar brightness), closed and hole-filled (dark rootlets inside a CSF-bright sac),
   and the connected component covering the canal point is a candidate. No single threshold
   fits every grade: a CSF-bright sac (A) is bounded by slightly darker epidural fat, a grainy
   sac (B) by fat and ligament on both sides, a CSF-free grey sac (C/D) by brighter fat;
3. the report chooses the expected appearance on T2: brighter than the tissue just around it for
   "none"/"mild", darker (a grey sac inside the epidural fat) for "severe", either for "moderate"
   and for compression of unstated degree;
4. among the compact candidates (solidity) that stay inside the window, the one whose outline lies
   on the strongest intensity edge (largest mean gradient along it) is the sac: a sac is bounded by
   an edge almost all round, a band that is too wide or too narrow cuts through flat tissue;
5. the report conditions the area: the severity's range (engine.site_data.severity), narrowed to
   a stated area when the report gives one. The area never selects the candidate, so a text that
   contradicts a clear image is rejected rather than obeyed.
A candidate that contradicts the text (appearance or area), leaks to the window's edge, is not
compact or has too weak an edge is rejected with that reason, never returned as a mask.
Constants were tuned on training seeds only (training/site_data/pseudo_mask_validation.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

from engine.preprocessing import PreprocessingConfig, prepare_intensities
from engine.site_data.severity import AreaRange, Severity, expected_dural_sac_area


class RejectionReason(StrEnum):
    NO_COMPONENT = "no component near the canal"
    AREA_OUT_OF_RANGE = "area contradicts the stated severity"
    LEAK = "component reaches the edge of the search window"
    NOT_COMPACT = "component is not compact"
    WEAK_EDGES = "outline not supported by image edges"
    NO_SEVERITY = "the report states no severity for the level"


# Sign of the contrast between the sac and the tissue just around it that each stated severity
# expects on T2: a CSF-bright sac (+1), a CSF-free grey sac darker than the epidural fat (-1), or
# either (0).
EXPECTED_CONTRAST: dict[Severity, int] = {
    Severity.NONE: 1,
    Severity.MILD: 1,
    Severity.MODERATE: 0,
    Severity.UNQUALIFIED: 0,
    Severity.SEVERE: -1,
}


@dataclass(frozen=True)
class PseudoMaskConfig:
    """Parameters of the pseudo-mask search (millimetres are converted with the slice's spacing).

    window_half_size_mm: half side of the square search window around the canal point.
    open_radius_mm / close_radius_mm: radii of the elliptic opening and closing elements applied to
        every intensity band (opening cuts thin bridges to touching tissue, closing bridges rootlets
        at the sac's rim).
    min_solidity: smallest area / convex hull area of an accepted component.
    seed_radius_mm: the canal point's neighbourhood: its median intensity is the value every band
        contains, and a candidate is the band component covering most of it.
    band_levels: number of window intensity quantiles the band limits are drawn from.
    ring_mm: width of the ring outside a candidate that its contrast is measured against.
    smooth_mm: Gaussian sigma applied before banding (grainy sacs of moderate stenosis).
    min_area_mm2: smallest candidate considered (below it nothing that could be a sac is left).
    min_edge_gradient: smallest mean intensity gradient on the chosen outline (window-normalised
        intensity per mm); below it the outline is not an image edge.
    preprocessing: normalisation and non-local-means denoising (engine.preprocessing).
    """

    window_half_size_mm: float = 14.0
    open_radius_mm: float = 0.8
    close_radius_mm: float = 1.2
    min_solidity: float = 0.7
    seed_radius_mm: float = 1.5
    band_levels: int = 24
    ring_mm: float = 1.5
    smooth_mm: float = 0.5
    min_area_mm2: float = 8.0
    min_edge_gradient: float = 0.05
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
    classes [0, t1), [t1, t2), [t2, 255] (multi-level Otsu). Not used by the band search any more
    (one pair of thresholds per window did not fit all grades); kept for inspecting windows."""
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


def _touches_border(component: np.ndarray) -> bool:
    return bool(component[0].any() or component[-1].any() or component[:, 0].any() or component[:, -1].any())


def _window(
    shape: tuple[int, int], centre_rc: tuple[float, float], half_px: tuple[int, int]
) -> tuple[slice, slice]:
    rows, cols = shape
    r, c = round(centre_rc[0]), round(centre_rc[1])
    return (
        slice(max(r - half_px[0], 0), min(r + half_px[0] + 1, rows)),
        slice(max(c - half_px[1], 0), min(c + half_px[1] + 1, cols)),
    )


def _outline(component: np.ndarray) -> np.ndarray:
    mask = component.astype(np.uint8)
    return (mask - cv2.erode(mask, np.ones((3, 3), np.uint8))) > 0


def _solidity(component: np.ndarray) -> float:
    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.vstack(contours))
    # contourArea measures the polygon through the outline pixel centres: add half a pixel all round.
    hull_area = float(cv2.contourArea(hull)) + 0.5 * float(cv2.arcLength(hull, True)) + 1.0
    return float(component.sum()) / hull_area


@dataclass(frozen=True)
class _Candidate:
    component: np.ndarray
    score: float  # mean gradient magnitude on the outline
    contrast: float  # mean inside minus mean of the ring just outside
    leaks: bool
    solidity: float


def _band_candidates(
    smooth: np.ndarray,
    gradient: np.ndarray,
    seed_rc: tuple[float, float],
    spacing_mm: tuple[float, float],
    config: PseudoMaskConfig,
) -> list[_Candidate]:
    """Components containing the canal point of every intensity band [lo, hi] around its value."""
    per_mm = 1.0 / min(spacing_mm)
    rr, cc = np.mgrid[: smooth.shape[0], : smooth.shape[1]]
    distance = np.hypot((rr - seed_rc[0]) * spacing_mm[0], (cc - seed_rc[1]) * spacing_mm[1])
    seed_zone = distance <= config.seed_radius_mm
    seed_value = float(np.median(smooth[seed_zone])) if seed_zone.any() else float(smooth.mean())
    levels = np.unique(np.quantile(smooth, np.linspace(0.0, 1.0, config.band_levels)))
    lows = [v for v in levels if v <= seed_value] or [float(levels[0])]
    highs = [v for v in levels if v >= seed_value] or [float(levels[-1])]
    highs[-1] = np.inf
    lows[0] = -np.inf
    opening = _disc(config.open_radius_mm * per_mm)
    closing = _disc(config.close_radius_mm * per_mm)
    ring_element = _disc(config.ring_mm * per_mm)
    seen: set[bytes] = set()
    found = []
    for low in lows:
        for high in highs:
            band = ((smooth >= low) & (smooth <= high)).astype(np.uint8)
            band = cv2.morphologyEx(band, cv2.MORPH_OPEN, opening)
            if config.close_radius_mm > 0:
                band = cv2.morphologyEx(band, cv2.MORPH_CLOSE, closing)
            _, labels = cv2.connectedComponents(band, connectivity=4)
            hit = np.unique(labels[seed_zone & (labels > 0)])
            if hit.size == 0:
                continue
            # the component covering most of the seed zone
            label = int(max(hit, key=lambda k: int((labels[seed_zone] == k).sum())))
            component = _fill_holes(labels == label)
            key = np.packbits(component).tobytes()
            if key in seen:
                continue
            seen.add(key)
            outline = _outline(component)
            ring = (cv2.dilate(component.astype(np.uint8), ring_element) > 0) & ~component
            contrast = float(smooth[component].mean() - smooth[ring].mean()) if ring.any() else 0.0
            found.append(
                _Candidate(
                    component,
                    float(gradient[outline].mean()) if outline.any() else 0.0,
                    contrast,
                    _touches_border(component),
                    _solidity(component),
                )
            )
    return found


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
    window = intensities[rows_slice, cols_slice].astype(np.float32)
    low_p, high_p = np.percentile(window, (1.0, 99.0))
    window = np.clip((window - low_p) / max(float(high_p - low_p), 1e-6), 0.0, 1.0).astype(np.float32)
    per_mm = 1.0 / min(row_mm, col_mm)
    smooth = cv2.GaussianBlur(window, (0, 0), config.smooth_mm * per_mm)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    gradient = np.hypot(gx, gy) * per_mm  # intensity change per mm
    local = (canal_rc[0] - rows_slice.start, canal_rc[1] - cols_slice.start)
    candidates = _band_candidates(smooth, gradient, local, (row_mm, col_mm), config)
    expected_sign = EXPECTED_CONTRAST[severity]
    fitting = [
        c
        for c in candidates
        if (expected_sign == 0 or expected_sign * c.contrast > 0)
        and float(c.component.sum()) * pixel_area >= config.min_area_mm2
    ]
    if not fitting:
        look = {1: "brighter than", -1: "darker than", 0: "distinct from"}[expected_sign]
        return PseudoMaskResult(
            False,
            None,
            None,
            None,
            expected,
            RejectionReason.NO_COMPONENT,
            f"no component at the canal point {look} the tissue around it ({severity.value})",
        )
    good = [c for c in fitting if not c.leaks and c.solidity >= config.min_solidity]
    best = max(good or fitting, key=lambda c: c.score)
    component = best.component
    full = np.zeros(image.shape, dtype=bool)
    full[rows_slice, cols_slice] = component
    area = float(component.sum()) * pixel_area

    def rejected(reason: RejectionReason, detail: str) -> PseudoMaskResult:
        return PseudoMaskResult(False, None, full, area, expected, reason, detail)

    if best.leaks:
        return rejected(RejectionReason.LEAK, f"{area:.0f} mm2 touching the window edge")
    if best.solidity < config.min_solidity:
        return rejected(RejectionReason.NOT_COMPACT, f"solidity {best.solidity:.2f} < {config.min_solidity}")
    if best.score < config.min_edge_gradient:
        return rejected(
            RejectionReason.WEAK_EDGES,
            f"outline gradient {best.score:.3f}/mm < {config.min_edge_gradient}/mm",
        )
    if not expected.contains(area):
        return rejected(
            RejectionReason.AREA_OUT_OF_RANGE,
            f"{area:.0f} mm2 outside [{expected.low_mm2:.0f}, {expected.high_mm2:.0f}] for {severity.value}",
        )
    return PseudoMaskResult(True, full, full, area, expected, None)
